from critics.text import parse, split_sentences, strip_markup, words_of


def test_sentences_paragraphs_and_quotes():
    doc = parse('Mr. Smith went home. "Go!" she said. He went.\n\nThe end.')
    assert doc.sentences == ["Mr. Smith went home.", '"Go!" she said.', "He went.", "The end."]
    assert doc.paragraphs == [[0, 1, 2], [3]]
    assert doc.oddities() == []


def test_run_on_text_is_chunked_and_flagged():
    doc = parse(" ".join(["word"] * 100))
    assert len(doc.sentences) == 4 and "no sentence punctuation" in doc.oddities()


def test_markup_stripped_and_named():
    text, found = strip_markup("<p>Hello <b>world</b> &amp; sea.</p>\n\n# Title\n\n**bold** [link](http://x.y)")
    assert "<" not in text and "&amp;" not in text and "**" not in text and "http" not in text
    assert {"HTML tags", "HTML entities", "markdown headings", "markdown emphasis", "markdown links"} <= set(found)


def test_scripts_and_languages():
    assert "mostly CJK script" in parse("这是一个故事。他走了。" * 3).oddities()
    assert "mostly right-to-left script" in parse("שלום עולם. זה סיפור ארוך.").oddities()
    assert "does not look like English" in parse("Le chat est sur la table et il mange une pomme avec son ami.").oddities()
    assert parse("").oddities() == ["the story is empty"]
    assert "only dialogue" in parse('"Where are you going?" "Out." "When will you be back?" "Late, maybe never, who knows."').oddities()


def test_words_split_cjk_characters():
    assert words_of("It's 二个 cats") == ["It's", "二", "个", "cats"]
    assert split_sentences("他走了。她来了。") == ["他走了。", "她来了。"]


def test_normalize_undoes_tokenizer_artefacts_and_is_idempotent():
    from critics.text import normalize

    cases = {
        "I do n't know , she said .": "I don't know, she said.",
        "He ca n't go . It 's the dogs ' bowls .": "He can't go. It's the dogs' bowls.",
        "I 'm here ( really ) , ok ?": "I'm here (really), ok?",
        "“Goddamn, Ian, ” I sigh.": '"Goddamn, Ian," I sigh.',
        "`` Yes , '' he said": '"Yes," he said',
        "one<newline><newline>two": "one\n\ntwo",
        "A\x00B\u200b  C\r\n\r\n\r\n\r\nD": "A B C\n\nD",
    }
    for raw, want in cases.items():
        assert normalize(raw) == want
        assert normalize(want) == want
    assert normalize(None) == ""


def test_parse_reads_the_normalised_text():
    assert parse("I do n't know .").words == parse("I don't know.").words
