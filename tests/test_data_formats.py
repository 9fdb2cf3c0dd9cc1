"""Generic readers on tiny files: parsing, .gz, errors naming file and line, skip_bad, tag schemes."""

import gzip
import warnings
from pathlib import Path

import pytest

from seqlab.data import formats
from seqlab.data.examples import Parallel, Series, TextLabel
from seqlab.data.formats import BadRow, DataFormatError, ReadReport, SkippedRowsWarning
from seqlab.errors import SeqlabError
from seqlab.text import tags as schemes


def write(path: Path, text: str, *, gz: bool = False) -> Path:
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- text, gzip, encodings

@pytest.mark.parametrize("gz", [False, True])
def test_lines_and_text_read_gzip_transparently(tmp_path, gz):
    path = write(tmp_path / "a.txt", "one\ntwo\r\n\nthree\rstill three\n", gz=gz)
    assert formats.read_lines(path) == ["one", "two", "", "three\rstill three"]  # only \n ends a line
    assert formats.read_lines(path, skip_empty=True) == ["one", "two", "three\rstill three"]
    assert formats.read_text(path) == "one\ntwo\r\n\nthree\rstill three\n"


def test_unreadable_files_raise_one_line_errors(tmp_path):
    with pytest.raises(DataFormatError, match="no such file"):
        formats.read_lines(tmp_path / "missing.txt")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataFormatError, match=r"latin1\.txt: not UTF-8"):
        formats.read_lines(tmp_path / "latin1.txt")
    data = gzip.compress(b"line\n" * 1000)
    (tmp_path / "cut.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match=r"cut\.gz: damaged or truncated gzip"):
        formats.read_lines(tmp_path / "cut.gz")


# --------------------------------------------------------------------------- TSV / CSV / JSONL

def test_table_reads_named_columns_tsv_and_csv(tmp_path):
    tsv = write(tmp_path / "a.tsv", 'sentence\tlabel\nit \'s "fine" \t1\nbad\t0\n')
    assert formats.read_table(tsv, text_column="sentence") == [TextLabel('it \'s "fine"', 1), TextLabel("bad", 0)]
    csv = write(tmp_path / "a.csv", 'id,text,label\n1,"a, b",pos\n2,c,neg\n', gz=True)
    rows = formats.read_table(csv, delimiter=",", label_map={"neg": 0, "pos": 1})
    assert rows == [TextLabel("a, b", 1), TextLabel("c", 0)]
    unlabelled = write(tmp_path / "test.tsv", "index\tsentence\n0\tgood\n")
    assert formats.read_table(unlabelled, text_column="sentence", label_column=None) == [TextLabel("good", None)]
    headerless = write(tmp_path / "h.tsv", "3\tthree\n")
    assert formats.read_table(headerless, text_column=1, label_column=0, header=False) == [TextLabel("three", 3)]


def test_table_errors_name_file_and_line(tmp_path):
    path = write(tmp_path / "train.tsv", "text\tlabel\ngood\t1\nno label here\nfine\tpositive\n")
    with pytest.raises(DataFormatError, match=r"train.tsv:3: expected 2 columns, got 1"):
        formats.read_table(path)
    with pytest.raises(DataFormatError, match=r"no column 'sentence' in the header"):
        formats.read_table(path, text_column="sentence")
    report = ReadReport()
    with pytest.warns(SkippedRowsWarning, match="skipped 2 bad row"):
        rows = formats.read_table(path, skip_bad=True, report=report)
    assert rows == [TextLabel("good", 1)]
    assert report.skipped == 2
    assert report.errors[1].endswith("train.tsv:4: label 'positive' is not an integer")


def test_table_csv_quoted_newlines_bom_and_record_line_numbers(tmp_path):
    path = tmp_path / "ml.csv"
    path.write_bytes('\ufefftext,label\r\n"hello\nworld",1\r\n"a, b",0'.encode())
    assert formats.read_table(path, delimiter=",") == [TextLabel("hello\nworld", 1), TextLabel("a, b", 0)]
    bad = write(tmp_path / "bad.csv", 'text,label\n"two\nlines",1\nno label\n"x",0\n', gz=True)
    with pytest.raises(DataFormatError, match=r"bad.csv:4: expected 2 columns, got 1"):
        formats.read_table(bad, delimiter=",")  # line 4: the quoted field spans lines 2 and 3
    with pytest.warns(SkippedRowsWarning):
        assert formats.read_table(bad, delimiter=",", skip_bad=True) == [TextLabel("two\nlines", 1),
                                                                           TextLabel("x", 0)]
    bom_tsv = tmp_path / "bom.tsv"
    bom_tsv.write_bytes("\ufeffsentence\tlabel\ngood\t1\n".encode())
    assert formats.read_table(bom_tsv, text_column="sentence") == [TextLabel("good", 1)]


def test_jsonl_labels_records_and_errors(tmp_path):
    path = write(tmp_path / "r.jsonl", '{"text": "a", "label": 1}\n\n{"text": "b", "label": "0"}\n', gz=True)
    assert formats.read_jsonl(path) == [TextLabel("a", 1), TextLabel("b", 0)]
    assert formats.read_records(path)[1] == {"text": "b", "label": "0"}
    bad = write(tmp_path / "bad.jsonl", '{"text": "a", "label": 1}\n{"text": "b"\n[1]\n{"review": "c"}\n')
    with pytest.raises(DataFormatError, match=r"bad.jsonl:2: not valid JSON"):
        formats.read_jsonl(bad)
    report = ReadReport()
    with pytest.warns(SkippedRowsWarning):
        assert formats.read_jsonl(bad, skip_bad=True, report=report) == [TextLabel("a", 1)]
    assert report.skipped == 3
    assert "bad.jsonl:3: expected a JSON object" in report.errors[1]
    assert "bad.jsonl:4: no key 'text'" in report.errors[2]


def test_parse_label():
    assert formats.parse_label(" -1 ") == -1
    assert formats.parse_label("2.0") == 2
    for value in ("1.5", "yes", "nan"):
        with pytest.raises(BadRow, match="is not an integer"):
            formats.parse_label(value)


# --------------------------------------------------------------------------- parallel text

def test_parallel_files_align_or_raise(tmp_path):
    en = write(tmp_path / "a.en", "a dog\na cat\n")
    de = write(tmp_path / "a.de", "ein Hund\neine Katze\n", gz=True)
    assert formats.read_parallel({"en": en, "de": de}) == [
        Parallel({"en": "a dog", "de": "ein Hund"}), Parallel({"en": "a cat", "de": "eine Katze"})]
    short = write(tmp_path / "b.de", "ein Hund\n")
    with pytest.raises(DataFormatError, match=r"a.en has 2 lines, .*b.de has 1 lines"):
        formats.read_parallel({"en": en, "de": short})


# --------------------------------------------------------------------------- CoNLL and CoNLL-U

CONLL = """-DOCSTART- -X- -X- O

EU NNP I-NP I-ORG
rejects VBZ I-VP O

-DOCSTART- -X- -X- O

Peter NNP I-NP I-PER
Blackburn NNP I-NP I-PER

BRUSSELS NNP I-NP I-LOC
"""


def test_conll_columns_documents_and_layouts(tmp_path):
    sentences = formats.read_conll(write(tmp_path / "train.txt", CONLL))
    assert [s.tokens for s in sentences] == [["EU", "rejects"], ["Peter", "Blackburn"], ["BRUSSELS"]]
    assert sentences[0].columns["ner"] == ["I-ORG", "O"]
    assert [s.doc for s in sentences] == [0, 1, 1]
    two = formats.read_conll(write(tmp_path / "pos.tsv", "Hello\tUH\nworld\tNN\n"), ("word", "tag"), delimiter="\t")
    assert two[0].tokens == ["Hello", "world"]  # the first column is the words when none is called "tokens"
    assert two[0].columns["tag"] == ["UH", "NN"]


def test_conll_bad_line_skips_its_sentence(tmp_path):
    path = write(tmp_path / "train.txt", CONLL.replace("Blackburn NNP I-NP I-PER", "Blackburn NNP I-PER"))
    with pytest.raises(DataFormatError, match=r"train.txt:9: expected 4 columns, got 3"):
        formats.read_conll(path)
    report = ReadReport()
    with pytest.warns(SkippedRowsWarning):
        sentences = formats.read_conll(path, skip_bad=True, report=report)
    assert [s.tokens for s in sentences] == [["EU", "rejects"], ["BRUSSELS"]]
    assert report.skipped == 1


CONLLU = """# sent_id = s1
# text = I don't know.
1\tI\tI\tPRON\tPRP\t_\t4\tnsubj\t_\t_
2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
2\tdo\tdo\tAUX\tVBP\t_\t4\taux\t_\t_
3\tn't\tnot\tPART\tRB\t_\t4\tadvmod\t_\t_
4\tknow\tknow\tVERB\tVB\t_\t0\troot\t_\t_
4.1\tknown\t_\t_\t_\t_\t_\t_\t_\t_
5\t.\t.\tPUNCT\t.\t_\t4\tpunct\t_\t_

"""


def test_conllu_keeps_syntactic_words_only(tmp_path):
    [sentence] = formats.read_conllu(write(tmp_path / "a.conllu", CONLLU, gz=True))
    assert sentence.tokens == ["I", "do", "n't", "know", "."]
    assert sentence.upos == ["PRON", "AUX", "PART", "VERB", "PUNCT"]
    assert sentence.heads == [4, 4, 4, 0, 4]
    assert sentence.lemmas[2] == "not"
    assert (sentence.sent_id, sentence.text) == ("s1", "I don't know.")
    bad = write(tmp_path / "b.conllu", CONLLU.replace("4\tknow\tknow\tVERB\tVB\t_\t0", "4\tknow\tknow\tVERB\tVB\t_\tx"))
    with pytest.raises(DataFormatError, match=r"b.conllu:7: head 'x' is not an integer"):
        formats.read_conllu(bad)


# --------------------------------------------------------------------------- tag schemes

def test_tag_scheme_conversions():
    iob1 = ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG", "I-ORG"]
    iob2 = ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG", "I-ORG"]
    iobes = ["B-PER", "E-PER", "S-PER", "O", "S-LOC", "B-ORG", "E-ORG"]
    assert schemes.iob1_to_iob2(iob1) == iob2
    assert schemes.iob2_to_iobes(iob2) == iobes
    assert schemes.iobes_to_iob2(iobes) == iob2
    assert schemes.convert_tags(iob2, "iob2", "iob1") == iob1
    assert schemes.tags_to_spans(iob1, "iob1") == [("PER", 0, 2), ("PER", 2, 3), ("LOC", 4, 5), ("ORG", 5, 7)]
    with pytest.raises(SeqlabError, match="unknown tag scheme"):
        schemes.convert_tags(iob1, "iob1", "bilou")
    with pytest.raises(SeqlabError, match="is not O or a B-/I-/E-/S- tag"):
        schemes.tags_to_spans(["X-PER"])


def test_the_tag_schemes_live_in_text_and_the_readers_re_export_them():
    for name in ("SCHEMES", "convert_tags", "iob1_to_iob2", "iob2_to_iobes", "iobes_to_iob2", "spans_to_tags",
                 "tags_to_spans"):
        assert getattr(formats, name) is getattr(schemes, name)


def test_spans_match_seqeval():
    seqeval = pytest.importorskip("seqeval.metrics.sequence_labeling")
    tags = ["B-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-LOC", "B-MISC", "B-MISC", "O", "I-ORG"]
    ours = [(t, s, e - 1) for t, s, e in schemes.tags_to_spans(tags, "iob2")]  # seqeval's ends are inclusive
    assert ours == seqeval.get_entities(tags)
    iobes = schemes.iob2_to_iobes(tags)
    assert [(t, s, e - 1) for t, s, e in schemes.tags_to_spans(iobes, "iobes")] == seqeval.get_entities(iobes)


# --------------------------------------------------------------------------- time series, bAbI, own formats

def test_ucr_and_ts_series(tmp_path):
    tsv = write(tmp_path / "X_TRAIN.tsv", "1\t0.5\t-1.5\n-1\t2\tNaN\n")
    series = formats.read_series(tsv)
    assert series[0] == Series(1, [0.5, -1.5])
    assert series[1].label == -1 and series[1].values[1] != series[1].values[1]  # NaN kept
    assert formats.read_ucr(write(tmp_path / "old.txt", "2,1e-3,4\n  1  3.0  4.0\n")) == [
        Series(2, [0.001, 4.0]), Series(1, [3.0, 4.0])]
    ts = write(tmp_path / "X_TRAIN.ts", "# comment\n@problemName X\n@data\n1.0,2.0,3.0:2\n")
    assert formats.read_series(ts) == [Series(2, [1.0, 2.0, 3.0])]
    bad = write(tmp_path / "bad.tsv", "1\t0.5\n1.5\t2\nb\t3\n1\tx\n")
    with pytest.raises(DataFormatError, match=r"bad.tsv:2: label '1.5' is not an integer"):
        formats.read_ucr(bad)
    report = ReadReport()
    with pytest.warns(SkippedRowsWarning):
        assert formats.read_ucr(bad, skip_bad=True, report=report) == [Series(1, [0.5])]
    assert report.skipped == 3 and "bad.tsv:4: value 'x' is not a number" in report.errors[2]


BABI = """1 Mary moved to the bathroom.
2 John went to the hallway.
3 Where is Mary? \tbathroom\t1
4 Daniel went back to the hallway.
5 Where is Daniel?\thallway\t4
1 Sandra got the apple.
2 What is Sandra carrying?\tapple\t1
"""


def test_babi_questions_carry_their_story(tmp_path):
    questions = formats.read_babi(write(tmp_path / "qa1_train.txt", BABI))
    assert len(questions) == 3
    first, second, third = questions
    assert first.story == ["Mary moved to the bathroom.", "John went to the hallway."]
    assert (first.question, first.answer, first.supporting) == ("Where is Mary?", "bathroom", [0])
    assert second.story[second.supporting[0]] == "Daniel went back to the hallway."
    assert third.story == ["Sandra got the apple."]
    bad = write(tmp_path / "bad.txt", BABI.replace("hallway\t4", "hallway\t9"))
    with pytest.raises(DataFormatError, match=r"bad.txt:5: supporting IDs '9' do not name earlier sentences"):
        formats.read_babi(bad)


def test_read_rows_with_own_parser(tmp_path):
    def parse(line: str) -> int | None:
        if line.startswith("#"):
            return None
        if not line.isdigit():
            raise BadRow(f"{line!r} is not a count")
        return int(line)

    path = write(tmp_path / "counts.txt", "# counts\n1\n2\nthree\n")
    with pytest.raises(DataFormatError, match=r"counts.txt:4: 'three' is not a count"):
        formats.read_rows(path, parse)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert formats.read_rows(path, parse, skip_bad=True) == [1, 2]
    assert caught[0].message.report.skipped == 1
