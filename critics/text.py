"""Reading a story once: markup stripped, paragraphs, sentences, words, and what is odd about it.

Pure Python, no models. Every critic reads the same ``Doc``, so a story is split once per
panel call (``critics.batch.Batch`` caches it).

    doc = parse("She ran.  He followed.\\n\\nThe end.")
    doc.sentences        # ['She ran.', 'He followed.', 'The end.']
    doc.paragraphs       # [[0, 1], [2]]  sentence indices per paragraph
    doc.oddities()       # [] for plain English prose

Sentence splitting is a rule-based splitter (terminal punctuation, closing quotes, a short list
of abbreviations, CJK full stops). Text without sentence punctuation is cut into chunks of
``RUN_ON_WORDS`` words so that downstream measures still have units to compare.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property

from critics.wordlists import CHATTER_LABEL, CHATTER_PATTERNS, ENGLISH_FUNCTION_WORDS

RUN_ON_WORDS = 25          # a "sentence" longer than this many words without punctuation is chunked
MAX_SENTENCE_WORDS = 80    # longer sentences are chunked too

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
WORD_RE = re.compile(rf"[{_CJK}]|[^\W\d_{_CJK}]+(?:['’][^\W\d_{_CJK}]+)*")
_BOUNDARY_RE = re.compile(r"[.!?…]+[\"”’')\]»]*\s+|[。！？]+[」』”]*\s*")
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "st", "prof", "sr", "jr", "vs", "etc", "mt", "no", "lt", "col", "gen", "capt"}
_HTML_TAG_RE = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>")
_HTML_ENTITY_RE = re.compile(r"&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);")
_MD_PATTERNS = {
    "markdown headings": re.compile(r"^\s{0,3}#{1,6}\s+", re.M),
    "markdown emphasis": re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"),
    "markdown links": re.compile(r"\[([^\]\n]+)\]\([^)\s]+\)"),
    "markdown lists": re.compile(r"^\s*(?:[-*+]|\d+\.)\s+", re.M),
    "code fences": re.compile(r"^\s*```.*$", re.M),
}
_QUOTE_RE = re.compile(r"“[^”]*”|\"[^\"\n]*\"|«[^»]*»|「[^」]*」")
_TERMINAL_RE = re.compile(r"[.!?…。！？][\"”’')\]»」』]*\s*$")
_CHATTER_RES = [(kind, rx.startswith("^^"), re.compile(rx[1:] if rx.startswith("^^") else rx, re.I)) for kind, rx in CHATTER_PATTERNS]
_CHATTER_LABEL_RE = re.compile(CHATTER_LABEL, re.I)


# Detokenisation of text that went through a word tokenizer (WritingPrompts, HANNA): "do n't",
# "I 'm", "word ," and "`` quoted ''" are formatting, not writing, and must not decide a score.
_DETOKENISE = [
    (re.compile(r"<newline>", re.I), "\n"),
    (re.compile(r"``[ \t]*"), '"'),
    (re.compile(r"[ \t]*''"), '"'),
    (re.compile(r"(?i)\b(ca|wo|do|does|did|is|are|was|were|have|has|had|could|would|should|must|need|might|ai|sha)"
                r" n['’]t\b"), r"\1n't"),
    (re.compile(r"(?i)(\w) ['’](s|m|d|ll|re|ve)\b"), r"\1'\2"),
    (re.compile(r"(\w)s ['’](?=\s)"), r"\1s'"),                        # "the dogs ' bowls"
    (re.compile(r"[ \t]+([,.;:!?%)\]}…])"), r"\1"),                       # "word ," -> "word,"
    (re.compile(r"([(\[{])[ \t]+"), r"\1"),                               # "( word" -> "(word"
    (re.compile(r"([“‘])[ \t]+"), r"\1"),
    (re.compile(r"[ \t]+([”’])"), r"\1"),
]
_QUOTES = str.maketrans({"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "‟": '"', "«": '"',
                         "»": '"', "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": "", "\ufeff": ""})
_NUL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalize(text: str) -> str:
    r"""The story as every critic sees it: NFC, straight quotes, no control characters, no word-
    tokenizer artefacts (``do n't`` -> ``don't``, ``word ,`` -> ``word,``, ``<newline>``), single
    spaces inside lines and at most one blank line between paragraphs. Idempotent.

    >>> normalize("I do n't know , she said . “ Fine ”  ok<newline>Next")
    'I don\'t know, she said. "Fine" ok\nNext'
    """
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _NUL_RE.sub(" ", text)
    for pattern, repl in _DETOKENISE:
        text = pattern.sub(repl, text)
    text = text.translate(_QUOTES)
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def strip_markup(text: str) -> tuple[str, list[str]]:
    """Remove HTML tags and entities and Markdown syntax; return (plain text, kinds found)."""
    found = []
    if _HTML_TAG_RE.search(text):
        found.append("HTML tags")
        text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</h\d>", "\n\n", text)
        text = _HTML_TAG_RE.sub("", text)
    if _HTML_ENTITY_RE.search(text):
        found.append("HTML entities")
        text = html.unescape(text)
    for kind, pattern in _MD_PATTERNS.items():
        if pattern.search(text):
            found.append(kind)
            if kind == "markdown emphasis":
                text = pattern.sub(r"\2", text)
            elif kind == "markdown links":
                text = pattern.sub(r"\1", text)
            else:
                text = pattern.sub("", text)
    return text, found


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of one paragraph (rule-based; see the module docstring)."""
    out, start = [], 0
    for m in _BOUNDARY_RE.finditer(paragraph):
        before = paragraph[start:m.start()].rsplit(None, 1)
        last_word = before[-1].lower().strip("\"“‘'(") if before else ""
        if m.group().startswith(".") and last_word in _ABBREVIATIONS:
            continue
        if paragraph[m.end():m.end() + 1].islower():  # '"Go!" she said.' is one sentence
            continue
        piece = paragraph[start:m.end()].strip()
        if piece:
            out.append(piece)
        start = m.end()
    tail = paragraph[start:].strip()
    if tail:
        out.append(tail)
    chunked = []
    for s in out:
        words = s.split()
        limit = RUN_ON_WORDS if not _TERMINAL_RE.search(s) else MAX_SENTENCE_WORDS
        if len(words) > limit:
            chunked.extend(" ".join(words[i:i + RUN_ON_WORDS]) for i in range(0, len(words), RUN_ON_WORDS))
        else:
            chunked.append(s)
    return chunked


def words_of(text: str) -> list[str]:
    """Word tokens (letters and apostrophes; each CJK character is a token)."""
    return WORD_RE.findall(text)


def _script(ch: str) -> str:
    o = ord(ch)
    if o < 0x250 or 0x1E00 <= o < 0x1F00:
        return "latin"
    if 0x0590 <= o < 0x0900 or 0xFB1D <= o < 0xFE00 or 0xFE70 <= o < 0xFF00:
        return "rtl"
    if 0x3040 <= o < 0x30FF or 0x3400 <= o < 0xA000 or 0xAC00 <= o < 0xD7B0 or 0xF900 <= o < 0xFB00:
        return "cjk"
    if 0x0400 <= o < 0x0530:
        return "cyrillic"
    return "other"


@dataclass
class Doc:
    """One story, read once. ``text`` is the story without markup."""

    raw: str
    text: str
    markup: list[str]
    paragraphs: list[list[int]]
    sentences: list[str]
    words: list[str]
    scripts: dict[str, int] = field(default_factory=dict)
    emoji: int = 0

    @cached_property
    def lower_words(self) -> list[str]:
        return [w.lower().replace("’", "'") for w in self.words]

    @property
    def n_words(self) -> int:
        return len(self.words)

    @cached_property
    def sentence_words(self) -> list[list[str]]:
        return [words_of(s) for s in self.sentences]

    @cached_property
    def unique_words(self) -> int:
        """Words in the story counting each repeated sentence once (a loop adds no length)."""
        seen, total = set(), 0
        for s, words in zip(self.sentences, self.sentence_words):
            key = " ".join(w.lower() for w in words)
            if key not in seen:
                seen.add(key)
                total += len(words)
        return total

    @cached_property
    def letters(self) -> int:
        return sum(self.scripts.values())

    def script_share(self, name: str) -> float:
        return self.scripts.get(name, 0) / self.letters if self.letters else 0.0

    @cached_property
    def english_share(self) -> float:
        """Share of words that are common English function words (about 0.4 in English prose)."""
        if not self.words:
            return 0.0
        return sum(w in ENGLISH_FUNCTION_WORDS for w in self.lower_words) / len(self.words)

    @cached_property
    def has_sentence_punctuation(self) -> bool:
        return bool(re.search(r"[.!?…。！？]", self.text))

    @cached_property
    def dialogue_share(self) -> float:
        """Share of the story's characters that sit inside quotation marks."""
        stripped = len(self.text.strip())
        if not stripped:
            return 0.0
        return min(1.0, sum(len(m) for m in _QUOTE_RE.findall(self.text)) / stripped)

    @cached_property
    def ends_cleanly(self) -> bool:
        return bool(_TERMINAL_RE.search(self.text.strip())) if self.text.strip() else False

    @cached_property
    def chatter(self) -> list["Chatter"]:
        """Chat-assistant talk around the story ("Sure! Here is a story...", "I hope you
        enjoyed it!", "Title: ..."), in order (``find_chatter``)."""
        return find_chatter(self)

    def looks_english(self) -> bool:
        return self.script_share("latin") >= 0.5 and (self.n_words < 8 or self.english_share >= 0.12)

    def oddities(self) -> list[str]:
        """Short phrases saying what is unusual about the text, for critics' reasons."""
        odd = []
        if not self.raw.strip():
            return ["the story is empty"]
        if self.n_words == 0:
            odd.append("the story has no words")
        elif self.n_words < 5:
            odd.append(f"only {self.n_words} word{'s' if self.n_words > 1 else ''}")
        if self.markup:
            odd.append("contains " + ", ".join(self.markup) + " (ignored)")
        if self.n_words >= 30 and not self.has_sentence_punctuation:
            odd.append("no sentence punctuation")
        if self.letters:
            for script, label in (("cjk", "CJK"), ("rtl", "right-to-left"), ("cyrillic", "Cyrillic"), ("other", "non-Latin")):
                if self.script_share(script) >= 0.3:
                    odd.append(f"mostly {label} script")
                    break
            else:
                if self.n_words >= 8 and self.english_share < 0.12:
                    odd.append("does not look like English")
        if self.emoji and self.emoji >= max(3, self.n_words // 20):
            odd.append(f"{self.emoji} emoji")
        if self.n_words >= 8 and self.dialogue_share > 0.9:
            odd.append("only dialogue")
        return odd


def excerpt(text: str, words: int = 8) -> str:
    """The first ``words`` words of a sentence or span, quoted for a reason.

    >>> excerpt("The storm arrived at dusk, and Elias climbed the tower to light the lamp.", 6)
    "'The storm arrived at dusk, and...'"
    """
    parts = text.split()
    cut = " ".join(parts[:words]).rstrip(",;:")
    return f"'{cut}...'" if len(parts) > words else f"'{cut}'"


@dataclass(frozen=True)
class Chatter:
    """One stretch of chat-assistant talk found in a story: where, what and what kind."""

    sentence: int   # 1-based number of its first sentence (``Doc.sentences``)
    text: str       # the matched phrase (and the sentences right after it that are chatter too)
    kind: str       # preamble, question, sign-off, assistant (an AI speaking as one), label
    last: int = 0   # 1-based number of its last sentence (0: the same as ``sentence``)

    def describe(self) -> str:
        last = self.last or self.sentence
        where = f"sentence {self.sentence}" if last == self.sentence else f"sentences {self.sentence}-{last}"
        return f"{excerpt(self.text, 8)} ({where})"


def find_chatter(doc: "Doc") -> list[Chatter]:
    """Chat chatter in a parsed story: the phrases of ``critics.wordlists.CHATTER_PATTERNS`` in
    its sentences (not inside dialogue: a match inside quotation marks does not count), and
    label lines (``CHATTER_LABEL``: "Title: ...", "### Assistant:"), at most one
    finding per sentence.

    >>> [c.describe() for c in parse("Sure! Here is a story about a cat. Tom slept. I hope you enjoyed it!").chatter]
    ["'Sure! Here is a story about a cat.' (sentences 1-2)", "'I hope you enjoyed it!' (sentence 4)"]
    """
    found: dict[int, Chatter] = {}
    for para in doc.paragraphs:
        quotes = 0  # quotation marks so far in the paragraph: odd means inside dialogue
        for k in para:
            sentence = doc.sentences[k]
            for kind, first_only, rx in _CHATTER_RES:
                if first_only and k > 0:
                    continue
                m = rx.search(sentence)
                if m and (quotes + sentence.count('"', 0, m.start())) % 2 == 0:
                    found[k] = Chatter(k + 1, sentence[m.start():] if m.start() < 40 else sentence, kind)
                    break
            quotes += sentence.count('"')
    for line in doc.raw.split("\n"):
        m = _CHATTER_LABEL_RE.search(line)
        if not m:
            continue
        label = " ".join(strip_markup(line)[0].split())
        head = " ".join(label.split()[:4])
        k = next((k for k, s in enumerate(doc.sentences) if head and head in s), None)
        if k is not None and k not in found:
            found[k] = Chatter(k + 1, label or line.strip(), "label")
    merged: list[Chatter] = []
    for k in sorted(found):  # a run of chatter sentences is one finding
        c = found[k]
        prev = merged[-1] if merged else None
        if prev is not None and (prev.last or prev.sentence) == c.sentence - 1:
            merged[-1] = Chatter(prev.sentence, f"{prev.text} {c.text}", prev.kind, c.sentence)
        else:
            merged.append(c)
    return merged


def parse(story: str) -> Doc:
    """Read a story (normalised first, see ``normalize``): strip markup, split paragraphs and sentences, count scripts and emoji."""
    raw = normalize(story)
    text, markup = strip_markup(raw)
    paragraphs, sentences = [], []
    for block in re.split(r"\n\s*\n|\n(?=\s*[\"“—-])", text):
        block = " ".join(block.split())
        if not block:
            continue
        ids = []
        for s in split_sentences(block):
            ids.append(len(sentences))
            sentences.append(s)
        if ids:
            paragraphs.append(ids)
    scripts: dict[str, int] = {}
    emoji = 0
    for ch in text:
        if ch.isalpha():
            k = _script(ch)
            scripts[k] = scripts.get(k, 0) + 1
        elif unicodedata.category(ch) == "So" or 0x1F300 <= ord(ch) <= 0x1FAFF:
            emoji += 1
    return Doc(raw=raw, text="\n\n".join(" ".join(sentences[i] for i in p) for p in paragraphs), markup=markup,
               paragraphs=paragraphs, sentences=sentences, words=words_of(text), scripts=scripts, emoji=emoji)
