"""export_book: every format through one door, written atomically, never overwriting by surprise."""

import os
import random
import zipfile

import docx
import pytest

from publish import FORMATS, export_book
from publish.book import ExportError
from record.errors import UserError
from tests.publish.books import chapter_words, make_book, words


@pytest.mark.parametrize("fmt, name", [("epub", "The_Lighthouse.epub"), ("docx", "The_Lighthouse.docx"),
                                       ("manuscript", "The_Lighthouse-manuscript.docx"),
                                       ("pdf", "The_Lighthouse.pdf"), ("md", "The_Lighthouse.md")])
def test_every_format_to_a_folder_then_refuses_to_overwrite(record, tmp_path, fmt, name):
    assert fmt in FORMATS
    book_id = make_book(record)
    out = tmp_path / "out"
    out.mkdir()
    path = export_book(record, book_id, fmt, out)
    assert path == out / name and path.stat().st_size > 0
    before = path.read_bytes()
    with pytest.raises(ExportError, match="already exists.*--force"):
        export_book(record, book_id, fmt, out)
    assert path.read_bytes() == before
    assert export_book(record, "The Lighthouse", fmt, out, force=True) == path
    assert sorted(os.listdir(out)) == [name]  # no temp files left


def test_default_is_the_current_folder(record, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    book_id = make_book(record, title="A/B: ..\\C")
    assert export_book(record, book_id, "md") == tmp_path / "A_B_C.md"


def test_a_failing_writer_leaves_no_file(record, tmp_path, monkeypatch):
    import publish.docx

    def broken(ms, path):
        with open(path, "wb") as f:
            f.write(b"PK half a file")
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(publish.docx, "write_ebook_docx", broken)
    book_id = make_book(record)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        export_book(record, book_id, "docx", out / "book.docx")
    assert os.listdir(out) == []


def test_unknown_format_and_empty_book(record, tmp_path):
    with pytest.raises(ExportError, match="unknown export format 'odt'.*epub"):
        export_book(record, make_book(record), "odt", tmp_path)
    empty = record.add_book(title="Empty")
    with pytest.raises(ExportError, match="no chapters"):
        export_book(record, empty["id"], "epub", tmp_path / "e.epub")
    assert not (tmp_path / "e.epub").exists()
    with pytest.raises(UserError, match="no book 'Nope'"):
        export_book(record, "Nope", "epub", tmp_path)


def test_bad_language_is_refused_before_writing(record, tmp_path):
    book_id = make_book(record, language="Klingon!")
    with pytest.raises(ExportError, match="language tag"):
        export_book(record, book_id, "epub", tmp_path / "x.epub")
    assert not (tmp_path / "x.epub").exists()


def test_a_200_000_word_book(record, tmp_path):
    rng = random.Random(0)
    vocab = "sea light keeper door night wind stone harbour & <b> the of and".split()
    chapters = []
    for c in range(60):
        paras = [" ".join(rng.choice(vocab) for _ in range(100)) for _ in range(34)]
        chapters.append((f"Chapter {c + 1}", "\n\n".join(paras)))
    book_id = make_book(record, title="Long", chapters=chapters)
    expected = chapter_words(record, book_id)
    assert sum(map(len, expected)) == 204_000
    z = zipfile.ZipFile(export_book(record, book_id, "epub", tmp_path))
    assert len([n for n in z.namelist() if n.startswith("EPUB/chapter")]) == 60
    d = docx.Document(export_book(record, book_id, "manuscript", tmp_path))
    body = [w for p in d.paragraphs if p.style.name == "Normal" for w in words(p.text)]
    assert body == [w for ch in expected for w in ch]
    assert d.paragraphs[0].text.endswith("about 204,000 words")
