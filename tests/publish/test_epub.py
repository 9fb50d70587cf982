"""EPUB export: words come back in order with markup escaped, metadata and navigation are
there, covers are checked, and epubcheck finds no errors and no warnings."""

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, strategies as st
from lxml import etree

from publish import export_book
from publish.book import Chapter, ExportError, clean_text
from publish.epub import chapter_body
from tests.publish.books import BAD_CHAPTERS, BAD_TITLE, RTL_CHAPTERS, chapter_words, make_book, words

EPUBCHECK = Path("/usr/share/java/epubcheck.jar")
NS = {"opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/",
      "x": "http://www.w3.org/1999/xhtml", "ncx": "http://www.daisy.org/z3986/2005/ncx/"}


def epubcheck(*paths):
    if shutil.which("java") is None or not EPUBCHECK.is_file():
        pytest.skip("epubcheck needs java and /usr/share/java/epubcheck.jar (Debian packages epubcheck, "
                    "default-jre-headless; ./run setup installs them)")
    for path in paths:
        # C1-only JIT and the serial collector: a short run starts about 3x faster on 2 cores.
        proc = subprocess.run(["java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar", str(EPUBCHECK),
                               str(path)], capture_output=True, text=True, timeout=300)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0 and "No errors or warnings detected" in out, out


def read_epub(path):
    """(metadata, [(chapter title, chapter words)], nav titles, ncx titles) read straight from the zip."""
    z = zipfile.ZipFile(path)
    assert z.namelist()[0] == "mimetype" and z.read("mimetype") == b"application/epub+zip"
    container = etree.fromstring(z.read("META-INF/container.xml"))
    opf_path = container.xpath("//*[local-name()='rootfile']/@full-path")[0]
    base = opf_path.rsplit("/", 1)[0] + "/"
    opf = etree.fromstring(z.read(opf_path))
    meta = {name: opf.xpath(f"//dc:{name}/text()", namespaces=NS) for name in
            ("title", "creator", "language", "identifier", "description", "date")}
    manifest = {i.get("id"): i for i in opf.xpath("//opf:manifest/opf:item", namespaces=NS)}
    chapters = []
    for ref in opf.xpath("//opf:spine/opf:itemref/@idref", namespaces=NS):
        href = manifest[ref].get("href")
        if not href.startswith("chapter"):
            continue
        doc = etree.fromstring(z.read(base + href))  # XML parse: well-formed or it fails
        title = "".join(doc.xpath("//x:h1", namespaces=NS)[0].itertext())
        paras = ["".join(p.itertext()) for p in doc.xpath("//x:p[not(@class='scene')]", namespaces=NS)]
        chapters.append((title, [w for p in paras for w in words(p)], doc))
    nav_item = [i for i in manifest.values() if "nav" in (i.get("properties") or "")][0]
    nav = etree.fromstring(z.read(base + nav_item.get("href")))
    ncx_item = [i for i in manifest.values() if i.get("media-type") == "application/x-dtbncx+xml"][0]
    ncx = etree.fromstring(z.read(base + ncx_item.get("href")))
    return (meta, chapters, nav.xpath("//x:nav//x:a/text()", namespaces=NS),
            ncx.xpath("//ncx:navLabel/ncx:text/text()", namespaces=NS), opf, manifest, z)


def test_words_and_metadata_round_trip(record, tmp_path):
    book_id = make_book(record, description="A keeper & a door <b>.", genre="literary")
    path = export_book(record, book_id, "epub", tmp_path)
    assert path == tmp_path / "The_Lighthouse.epub"
    meta, chapters, nav, ncx, opf, manifest, z = read_epub(path)
    assert meta["title"] == ["The Lighthouse"] and meta["creator"] == ["Ann Keeper"] and meta["language"] == ["en"]
    assert meta["identifier"][0].startswith("urn:uuid:") and meta["description"] == ["A keeper & a door <b>."]
    assert len(meta["date"][0]) == 10
    assert [c[0] for c in chapters] == ["The Lamp", "The Door", "The Letter"]
    assert [c[1] for c in chapters] == chapter_words(record, book_id)
    assert nav == ncx == ["The Lighthouse", "The Lamp", "The Door", "The Letter"]
    scene = chapters[0][2].xpath("//x:p[@class='scene']", namespaces=NS)
    assert len(scene) == 1 and "text-align: center" in z.read("EPUB/style/book.css").decode()
    assert "text-indent" in z.read("EPUB/style/book.css").decode()
    assert chapters[0][2].get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    # ebooklib reads it back too: the spine holds the chapters in order.
    from ebooklib import epub

    book = epub.read_epub(str(path))
    assert book.get_metadata("DC", "title")[0][0] == "The Lighthouse"
    assert [book.get_item_with_id(i).file_name for i, _ in book.spine][-3:] == [
        "chapter001.xhtml", "chapter002.xhtml", "chapter003.xhtml"]


def test_bad_input_is_escaped_never_interpreted(record, tmp_path):
    book_id = make_book(record, title=BAD_TITLE, author="Zoë <Q> & Co", chapters=BAD_CHAPTERS)
    path = export_book(record, book_id, "epub", tmp_path)
    assert path.name == "Dawn_Quotes_b_Ünïcödé.epub"
    meta, chapters, nav, ncx, opf, manifest, z = read_epub(path)
    assert meta["title"] == [BAD_TITLE] and meta["creator"] == ["Zoë <Q> & Co"]
    assert [c[0] for c in chapters] == [clean_text(t) for t, _ in BAD_CHAPTERS]
    assert [c[1] for c in chapters] == chapter_words(record, book_id)
    body = z.read("EPUB/chapter001.xhtml").decode()
    assert "<script" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert not any(c[2].xpath("//x:script|//x:b|//x:a|//x:code|//x:strong|//x:em", namespaces=NS) for c in chapters)
    assert chapters[1][1] == []  # the empty chapter is there, with its title only


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1))
def test_any_text_survives_as_text(text):
    text = " ".join(clean_text(text).split())
    if not text:
        return
    doc = etree.fromstring(f'<html xmlns="http://www.w3.org/1999/xhtml"><body>'
                           f'{chapter_body(Chapter("t", [text]))}</body></html>'.encode())
    assert "".join(doc.xpath("//x:p", namespaces=NS)[0].itertext()) == text


def test_right_to_left_book(record, tmp_path):
    book_id = make_book(record, title="ספר", author="דנה", chapters=RTL_CHAPTERS, language="he")
    path = export_book(record, book_id, "epub", tmp_path / "rtl.epub")
    meta, chapters, nav, ncx, opf, manifest, z = read_epub(path)
    assert opf.xpath("//opf:spine/@page-progression-direction", namespaces=NS) == ["rtl"]
    assert chapters[0][2].get("dir") == "rtl" and meta["language"] == ["he"]
    assert [c[1] for c in chapters] == chapter_words(record, book_id)
    # An English paragraph in a Hebrew book is marked left-to-right; Hebrew ones follow the book.
    mixed = chapters[1][2].xpath("//x:p", namespaces=NS)
    assert [p.get("dir") for p in mixed] == ["ltr"]


def test_hebrew_paragraph_in_an_english_book_is_marked(record, tmp_path):
    book_id = make_book(record, chapters=[("One", "English first.\n\nשלום עולם, with English after.")])
    meta, chapters, *_ = read_epub(export_book(record, book_id, "epub", tmp_path))
    assert [p.get("dir") for p in chapters[0][2].xpath("//x:p", namespaces=NS)] == [None, "rtl"]


def _png(path, size, mode="RGB"):
    from PIL import Image

    Image.new(mode, size, (200, 40, 40) if mode == "RGB" else (200, 40, 40, 128)).save(path)
    return path


def test_cover_image_and_huge_cover_resized(record, tmp_path):
    book_id = make_book(record)
    cover = _png(tmp_path / "cover.png", (3000, 4800))
    path = export_book(record, book_id, "epub", tmp_path / "c.epub", cover=cover)
    meta, chapters, nav, ncx, opf, manifest, z = read_epub(path)
    item = [i for i in manifest.values() if i.get("properties") == "cover-image"][0]
    from io import BytesIO

    from PIL import Image

    img = Image.open(BytesIO(z.read("EPUB/" + item.get("href"))))
    assert max(img.size) == 2560 and img.size[0] * 4800 // 3000 in range(img.size[1] - 2, img.size[1] + 2)
    assert "cover.xhtml" in [m.get("href") for m in manifest.values()]


@pytest.mark.parametrize("content, message", [
    (b"\xff\xd8\xff\xe0 not really a jpeg", "corrupt"),
    (b"GIF89a" + b"\x00" * 40, "corrupt|expected a JPEG or PNG"),
])
def test_corrupt_cover_stops_and_writes_nothing(record, tmp_path, content, message):
    book_id = make_book(record)
    bad = tmp_path / "cover.jpg"
    bad.write_bytes(content)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ExportError, match=message):
        export_book(record, book_id, "epub", out, cover=bad)
    assert list(out.iterdir()) == []


def test_truncated_png_cover(record, tmp_path):
    book_id = make_book(record)
    good = _png(tmp_path / "c.png", (400, 600))
    bad = tmp_path / "bad.png"
    bad.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ExportError, match="corrupt"):
        export_book(record, book_id, "epub", tmp_path / "x.epub", cover=bad)
    assert not (tmp_path / "x.epub").exists()


@pytest.mark.slow  # three epubcheck runs, 4-10 s each on 2 busy cores (JVM start-up)
def test_epubcheck_passes_on_every_kind_of_book(record, tmp_path):
    """Zero errors and zero warnings: a plain book with a cover and description, the bad-input
    book (markup, CJK, combining marks, emoji, an empty chapter) and a right-to-left book."""
    plain = export_book(record, make_book(record, description="A tale."), "epub", tmp_path / "plain.epub",
                        cover=_png(tmp_path / "cover.png", (800, 1200)))
    bad = export_book(record, make_book(record, title=BAD_TITLE, chapters=BAD_CHAPTERS, language="ja"), "epub",
                      tmp_path / "bad.epub", cover=_png(tmp_path / "alpha.png", (3000, 3000), "RGBA"))
    rtl = export_book(record, make_book(record, title="ספר", chapters=RTL_CHAPTERS, language="ar"), "epub",
                      tmp_path / "rtl.epub")
    epubcheck(plain, bad, rtl)


def test_huge_jpeg_cover_is_scaled_and_reencoded(tmp_path):
    from PIL import Image

    from publish.cover import MAX_SIDE, load_cover

    Image.new("RGB", (4000, 6000), (10, 120, 200)).save(tmp_path / "big.jpg", quality=70)
    cover = load_cover(tmp_path / "big.jpg")
    assert cover.media_type == "image/jpeg" and max(cover.width, cover.height) == MAX_SIDE
    from io import BytesIO

    assert Image.open(BytesIO(cover.data)).size == (cover.width, cover.height)


def test_too_many_pixels_is_refused(tmp_path, monkeypatch):
    from publish import cover as cover_module

    monkeypatch.setattr(cover_module, "MAX_PIXELS", 10_000)
    with pytest.raises(ExportError, match="too large to decode"):
        cover_module.load_cover(_png(tmp_path / "c.png", (200, 200)))
