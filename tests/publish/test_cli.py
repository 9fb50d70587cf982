"""`scriptorium book new|import|list` and `scriptorium export`, through the real entry point."""

import json

from ui.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_new_import_list_export(workspace, tmp_path, capsys):
    ws = str(workspace)
    code, out, _ = run(capsys, "--workspace", ws, "book", "new", "--title", "The Lighthouse", "--author", "Ann Keeper",
                       "--json")
    assert code == 0 and json.loads(out)["title"] == "The Lighthouse"
    md = tmp_path / "novel.md"
    md.write_text("---\ntitle: Imported\nauthor: Bo\nlanguage: fr\n---\n# Un\nBonjour & <b>.\n\n# Deux\nFin.\n",
                  encoding="utf-8")
    code, out, _ = run(capsys, "--workspace", ws, "book", "import", str(md))
    assert code == 0 and out.startswith("2: Imported by Bo (2 chapters, 4 words)")

    code, out, _ = run(capsys, "--workspace", ws, "book", "list", "--json")
    books = [json.loads(line) for line in out.splitlines()]
    assert [(b["id"], b["title"], b["chapters"], b["language"]) for b in books] == [
        (1, "The Lighthouse", 0, "en"), (2, "Imported", 2, "fr")]

    out_dir = tmp_path / "out"
    code, out, _ = run(capsys, "--workspace", ws, "export", "Imported", "--format", "epub", "--out", str(out_dir) + "/")
    assert code == 0 and out.strip() == str(out_dir / "Imported.epub") and (out_dir / "Imported.epub").is_file()

    code, _, err = run(capsys, "--workspace", ws, "export", "2", "-f", "epub", "-o", str(out_dir))
    assert code == 2 and "already exists" in err and "--force" in err
    code, _, _ = run(capsys, "--workspace", ws, "export", "2", "-f", "epub", "-o", str(out_dir), "--force")
    assert code == 0

    code, _, err = run(capsys, "--workspace", ws, "export", "The Lighthouse", "-f", "pdf", "-o", str(out_dir))
    assert code == 2 and "no chapters" in err


def test_user_mistakes_exit_2_with_a_message(workspace, tmp_path, capsys):
    ws = str(workspace)
    code, _, err = run(capsys, "--workspace", ws, "book", "new", "--title", "X", "--language", "not a tag")
    assert code == 2 and "BCP 47" in err
    code, _, err = run(capsys, "--workspace", ws, "book", "import", str(tmp_path / "missing.md"))
    assert code == 2 and "not found" in err
    code, _, err = run(capsys, "--workspace", ws, "export", "nope", "-f", "md")
    assert code == 2 and "no book 'nope'" in err


def test_font_notes_are_printed(workspace, tmp_path, capsys):
    ws = str(workspace)
    md = tmp_path / "e.md"
    md.write_text("# One\nA rocket 🚀.\n", encoding="utf-8")
    run(capsys, "--workspace", ws, "book", "import", str(md))
    code, out, err = run(capsys, "--workspace", ws, "export", "1", "-f", "pdf", "-o", str(tmp_path))
    assert code == 0 and "note:" in err and "🚀" in err


def test_cover_for_a_format_without_one_is_noted(workspace, tmp_path, capsys):
    ws = str(workspace)
    md = tmp_path / "b.md"
    md.write_text("# One\nText.\n", encoding="utf-8")
    run(capsys, "--workspace", ws, "book", "import", str(md))
    code, _, err = run(capsys, "--workspace", ws, "export", "1", "-f", "md", "-o", str(tmp_path / "o.md"),
                       "--cover", "nothing.jpg")
    assert code == 0 and "note: --cover applies to EPUB and PDF only" in err


def test_book_set_feeds_the_manuscript(workspace, tmp_path, capsys):
    import docx

    ws = str(workspace)
    run(capsys, "--workspace", ws, "book", "new", "--title", "A Door", "--author", "A. K.")
    (tmp_path / "c.md").write_text("# One\nText.\n", encoding="utf-8")
    code, out, _ = run(capsys, "--workspace", ws, "book", "set", "A Door", "--legal-name", "Ann Keeper",
                       "--contact", "12 Harbour Road", "--contact", "ann@example.com", "--keyword", "Door",
                       "--language", "en-GB", "--json")
    book = json.loads(out)
    assert code == 0 and book["language"] == "en-GB"
    assert book["settings"] == {"legal_name": "Ann Keeper", "contact": ["12 Harbour Road", "ann@example.com"],
                                "keyword": "Door"}
    from record import open_record

    rec = open_record(ws)
    rec.add_chapter(1, "One", "Text.")
    rec.close()
    code, out, _ = run(capsys, "--workspace", ws, "export", "1", "-f", "manuscript", "-o", str(tmp_path) + "/")
    d = docx.Document(out.strip())
    assert [p.text for p in d.paragraphs[:3]] == ["Ann Keeper\tabout 100 words", "12 Harbour Road", "ann@example.com"]
    assert d.sections[0].header.paragraphs[0].text.startswith("Keeper / Door / ")
    code, _, err = run(capsys, "--workspace", ws, "book", "set", "1", "--title", " ")
    assert code == 2 and "needs a title" in err
