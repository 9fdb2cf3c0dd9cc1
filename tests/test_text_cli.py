import json

import pytest

from seqlab.cli import main

CORPUS = {"en": ["The dog runs in the park.", "A man is riding a bicycle on the street."],
          "de": ["Der Hund läuft im Park.", "Ein Mann fährt mit dem Fahrrad auf der Straße."],
          "fr": ["Le chien court dans le parc.", "Un homme fait du vélo dans la rue."]}
TEXT = "Alice met Bob in Paris. Then Alice left.\n\nBob stayed.\n"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_text_group_lists_its_subcommands(capsys):
    with pytest.raises(SystemExit):
        main(["text"])
    out = capsys.readouterr().out
    assert all(name in out for name in ("stats", "lang", "search", "dups"))


def test_stats(capsys, tmp_path):
    path = tmp_path / "story.txt"
    path.write_text(TEXT)
    code, out, _ = run(capsys, "text", "stats", str(path), "--top", "2")
    assert code == 0
    assert "sentences    3" in out and "paragraphs   2" in out and "top 2 names:" in out
    code, out, _ = run(capsys, "text", "stats", str(path), "--json")
    summary = json.loads(out)
    assert summary["words"] == 10 and summary["name_counts"] == {"Alice": 2, "Bob": 2, "Paris": 1}


def test_stats_errors_name_the_file(capsys, tmp_path):
    code, _, err = run(capsys, "text", "stats", str(tmp_path / "nope.txt"))
    assert code == 2 and err.strip() == f"seqlab text: error: {tmp_path / 'nope.txt'}: no such file"
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("ok\nd\u00e9j\u00e0 vu\n".encode("latin-1"))
    code, _, err = run(capsys, "text", "stats", str(bad))
    assert code == 2 and "latin1.txt: line 2: not UTF-8" in err and err.count("\n") == 1


@pytest.fixture
def corpus_dir(tmp_path):
    docs = {"cats.txt": "The cat sat on the mat.", "dogs.txt": "A dog chased the cat in the garden.",
            "copy.txt": "The cat sat on the mat!", "birds.txt": "Birds sing at dawn in the garden."}
    for name, text in docs.items():
        (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize("method", ["bm25", "tfidf"])
def test_search_directory(capsys, corpus_dir, method):
    code, out, _ = run(capsys, "text", "search", str(corpus_dir), "cat mat", "--method", method, "-k", "2")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert {line.split()[2] for line in lines} == {"cats.txt", "copy.txt"}
    assert any(line.endswith("cats.txt  The cat sat on the mat.") for line in lines)  # name, then the text


def test_search_lines_file_and_no_match(capsys, tmp_path):
    path = tmp_path / "docs.txt"
    path.write_text("red apples\n\ngreen pears\n")
    code, out, _ = run(capsys, "text", "search", str(path), "pears")
    assert code == 0 and out.split()[2:] == ["line", "3", "green", "pears"]
    code, out, _ = run(capsys, "text", "search", str(path), "plums")
    assert code == 0 and "no document matches" in out
    code, _, err = run(capsys, "text", "search", str(path), "  ")
    assert code == 2 and "query is empty" in err


def test_dups(capsys, corpus_dir):
    code, out, _ = run(capsys, "text", "dups", str(corpus_dir), "--threshold", "0.9")
    assert code == 0 and out.startswith("cats.txt  copy.txt  jaccard 1.000 (minhash 1.000)  cosine 1.000")
    assert len(out.splitlines()) == 1
    code, out, _ = run(capsys, "text", "dups", str(corpus_dir / "cats.txt"))
    assert code == 0 and "no pair of the 1 documents" in out


def test_bad_options_exit_2(capsys, corpus_dir):
    code, _, err = run(capsys, "text", "dups", str(corpus_dir), "--threshold", "1.5")
    assert code == 2 and "similarity in (0, 1]" in err
    code, _, err = run(capsys, "text", "search", str(corpus_dir), "cat", "--method", "lsi")
    assert code == 2 and "invalid choice" in err
    code, _, err = run(capsys, "text", "dups", str(corpus_dir / "missing"))
    assert code == 2 and "missing: no such file" in err


def test_lang_trains_once_and_caches(capsys, tmp_path, monkeypatch):
    from seqlab.text.tools import langid

    monkeypatch.setenv("SEQLAB_CACHE", str(tmp_path))
    calls = []
    monkeypatch.setattr(langid, "multi30k_sentences", lambda split, data_dir=None: calls.append(split) or CORPUS)
    code, out, err = run(capsys, "text", "lang", "Der Hund läuft durch den Park.", "Le chien court.")
    assert code == 0 and "trained on Multi30k" in err and calls == ["train"]
    first, second = out.splitlines()
    assert first.startswith("de (German)  de ") and second.startswith("fr (French)  fr ")
    probabilities = [float(x) for x in first.split()[3::2]]
    assert sum(probabilities) == pytest.approx(1.0, abs=1e-3)
    code, out, err = run(capsys, "text", "lang", "The dog runs in the park.")
    assert code == 0 and err == "" and out.startswith("en (English)") and calls == ["train"]  # from the cache
    assert (tmp_path / "langid").is_dir()
    code, _, err = run(capsys, "text", "lang", " ")
    assert code == 2 and "input 1 is empty" in err


def test_lang_on_multi30k(capsys, data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("SEQLAB_CACHE", str(tmp_path))
    code, out, _ = run(capsys, "text", "lang", "--data-dir", str(data_dir), "--eval",
                       "Ein Mann mit einem Hut steht vor einem Gebäude.", "A dog runs on the beach.",
                       "¿Dónde está la biblioteca? Me gustaría comer algo.", "12345")
    german, english, spanish, digits = out.splitlines()[:4]
    assert code == 0 and german.startswith("de (German)") and english.startswith("en (English)")
    assert spanish.startswith("unknown (closest fr, but ") and digits == "unknown (no letters)"  # were fr 1.0, en 0.99
    assert "Multi30k test, whole sentences: accuracy" in out and "first 2 words only: accuracy" in out


@pytest.mark.parametrize("argv", [
    ["stats", "FILE", "--top", "-5"], ["stats", "FILE", "--top", "2.5"], ["search", "FILE", "q", "-k", "0"],
    ["search", "FILE", "q", "-k", "-3"], ["dups", "FILE", "--shingle", "0"], ["dups", "FILE", "--num-perm", "-1"],
    ["dups", "FILE", "--threshold", "1.5"], ["dups", "FILE", "--threshold", "-0.1"],
    ["dups", "FILE", "--threshold", "nan"], ["dups", "FILE", "--threshold", "inf"],
    ["dups", "FILE", "--num-perm", "1000000000"],  # would hang allocating a billion hash functions
    *(["search", "FILE", "q", "--k1", v] for v in ("-1", "nan", "inf", "1e308", "x")),
    *(["search", "FILE", "q", "--b", v] for v in ("2", "-0.5", "nan", "-inf")),
])
def test_counts_and_thresholds_are_checked(capsys, tmp_path, argv):
    path = tmp_path / "docs.txt"
    path.write_text("a b c\n")
    code, out, err = run(capsys, "text", *[str(path) if a == "FILE" else a for a in argv])
    assert code == 2 and out == "" and err.count("\n") == 1  # one line, naming the option
    assert f"error: argument {argv[2] if argv[0] != 'search' else argv[3]}: expected" in err
    assert "Traceback" not in err


def test_bm25_parameters_at_their_bounds(capsys, corpus_dir):
    for k1, b in [("0", "0"), ("1000", "1"), ("1.2", "0.5")]:
        code, out, err = run(capsys, "text", "search", str(corpus_dir), "cat", "--k1", k1, "--b", b)
        assert code == 0 and err == "" and "cats.txt" in out and "inf" not in out and "nan" not in out


def test_stats_top_zero_lists_all(capsys, tmp_path):
    path = tmp_path / "story.txt"
    path.write_text(TEXT)
    code, out, _ = run(capsys, "text", "stats", str(path), "--top", "0", "--json")
    assert code == 0 and json.loads(out)["name_counts"] == {"Alice": 2, "Bob": 2, "Paris": 1}


def test_lang_says_unknown_without_known_ngrams(capsys, tmp_path, monkeypatch):
    from seqlab.text.tools import langid

    monkeypatch.setenv("SEQLAB_CACHE", str(tmp_path))
    monkeypatch.setattr(langid, "multi30k_sentences", lambda split, data_dir=None: CORPUS)
    code, out, _ = run(capsys, "text", "lang", "😀😀")
    assert code == 0 and out.strip() == "unknown (no known character n-grams)"
    code, out, _ = run(capsys, "text", "lang", "12345", "3.14", "Hund 3")  # CORPUS has "." but no digit
    assert code == 0 and out.splitlines()[:2] == ["unknown (no known character n-grams)", "unknown (no letters)"]
    assert out.splitlines()[2].startswith("de (German)")
