"""Readers for the file formats that sequence data comes in, for any user's own files.

    read_lines / read_text       plain text
    read_table                   TSV/CSV with a text column and an optional label column -> TextLabel
    read_jsonl / read_records    JSON Lines -> TextLabel / dicts
    read_parallel                line-aligned files, one per language -> Parallel
    read_conll                   token-per-line column files, any layout -> ConllSentence
    read_conllu                  CoNLL-U (Universal Dependencies) -> UDSentence
    read_ucr / read_ts           UCR-style TSV and aeon/sktime .ts time series -> Series
    read_babi                    bAbI question-answering stories -> BabiQuestion
    read_rows                    any line-per-item format, given a parser for one line
    convert_tags, tags_to_spans  IOB1 / IOB2 / IOBES tag schemes (from seqlab.text.tags, re-exported)

Every reader opens ``.gz`` files transparently (by their magic bytes) and reads UTF-8. A malformed row
raises :class:`DataFormatError` naming the file and line ("train.txt:1234: expected 4 columns, got 3");
with ``skip_bad=True`` it is skipped instead, a :class:`SkippedRowsWarning` says how many, and a
:class:`ReadReport` passed as ``report`` collects the count for programs.
"""

from __future__ import annotations

import csv
import gzip
import json
import warnings
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar

from seqlab.data.examples import BabiQuestion, ConllSentence, Parallel, Series, TextLabel, UDSentence
from seqlab.errors import SeqlabError
from seqlab.text.tags import (  # re-exported: the tag schemes lived here first
    SCHEMES,
    convert_tags,
    iob1_to_iob2,
    iob2_to_iobes,
    iobes_to_iob2,
    spans_to_tags,
    tags_to_spans,
)

T = TypeVar("T")
PathLike = str | Path
MAX_ERRORS_KEPT = 5


class DataFormatError(SeqlabError):
    """A file that does not hold what its format promises; the message starts with ``path:line:``."""


class SkippedRowsWarning(UserWarning):
    """Rows were skipped because ``skip_bad=True``; ``.report`` holds the count and the first errors."""

    def __init__(self, message: str, report: ReadReport):
        super().__init__(message)
        self.report = report


@dataclass
class ReadReport:
    """What the readers skipped. Pass one as ``report=`` and read it afterwards; it adds up over files."""

    skipped: int = 0
    errors: list[str] = field(default_factory=list)  # the first few messages, "path:line: why"

    def add(self, message: str) -> None:
        self.skipped += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(message)


class BadRow(ValueError):
    """Raised by a row parser; the reader adds the file and line (or uses ``line_no``) and raises or skips."""

    def __init__(self, why: str, line_no: int | None = None):
        super().__init__(why)
        self.line_no = line_no


class _Rows:
    """Turns a row parser's BadRow into a DataFormatError, or counts and skips it with ``skip_bad``."""

    def __init__(self, path: Path, skip_bad: bool, report: ReadReport | None):
        self.path, self.skip_bad, self.report = path, skip_bad, report
        self.local = ReadReport()

    def bad(self, line_no: int, why: str) -> None:
        message = f"{self.path}:{line_no}: {why}"
        if not self.skip_bad:
            raise DataFormatError(message)
        self.local.add(message)
        if self.report is not None:
            self.report.add(message)

    def finish(self) -> None:
        if self.local.skipped:
            warnings.warn(SkippedRowsWarning(
                f"{self.path}: skipped {self.local.skipped} bad row(s); first: {self.local.errors[0]}", self.local),
                stacklevel=3)


# --------------------------------------------------------------------------- opening files

def is_gzip(path: PathLike) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def open_text(path: PathLike) -> TextIO:
    """Open UTF-8 text, gunzipping when the file is gzip. Lines end at ``\\n`` only (a stray ``\\r`` inside
    a line must not split it, or line counts and alignment would change)."""
    if is_gzip(path):
        return gzip.open(path, "rt", encoding="utf-8", newline="\n")
    return open(path, encoding="utf-8", newline="\n")


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn the ways a file can be unreadable into one-line DataFormatErrors."""
    try:
        yield
    except FileNotFoundError:
        raise DataFormatError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataFormatError(f"{path}: is a directory, expected a file") from None
    except UnicodeDecodeError as err:
        raise DataFormatError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise DataFormatError(f"{path}: damaged or truncated gzip file ({err})") from None


def iter_lines(path: PathLike) -> Iterator[tuple[int, str]]:
    """(1-based line number, line without its line end); unreadable files raise DataFormatError."""
    path = Path(path)
    with _reading(path), open_text(path) as f:
        for line_no, line in enumerate(f, 1):
            yield line_no, line.rstrip("\n").removesuffix("\r")


def read_rows(path: PathLike, parse: Callable[[str], T | None], *, skip_bad: bool = False,
              report: ReadReport | None = None) -> list[T]:
    """Apply ``parse`` to every line, for a line-per-item format of your own: it returns the item, None
    for a line to pass over (a comment), or raises BadRow("why") for a malformed line."""
    rows, out = _Rows(Path(path), skip_bad, report), []
    for line_no, line in iter_lines(path):
        try:
            item = parse(line)
        except BadRow as err:
            rows.bad(line_no, str(err))
            continue
        if item is not None:
            out.append(item)
    rows.finish()
    return out


# --------------------------------------------------------------------------- plain text

def read_lines(path: PathLike, *, skip_empty: bool = False) -> list[str]:
    """The file's lines without line ends."""
    return [line for _, line in iter_lines(path) if line.strip() or not skip_empty]


def read_text(path: PathLike) -> str:
    """The whole file as one string, exactly as stored."""
    path = Path(path)
    with _reading(path), open_text(path) as f:
        return f.read()


# --------------------------------------------------------------------------- labels

def parse_label(value: str, label_map: Mapping[str, int] | None = None) -> int:
    """An integer class id; ``label_map`` maps names ("pos") to ids. Raises BadRow otherwise."""
    value = value.strip()
    if label_map is not None:
        if value not in label_map:
            raise BadRow(f"label {value!r} is not one of {sorted(label_map)}")
        return label_map[value]
    try:
        return int(value)
    except ValueError:
        pass
    try:  # some files write class ids as floats: "1.0"
        number = float(value)
    except ValueError:
        number = float("nan")
    if number.is_integer():
        return int(number)
    raise BadRow(f"label {value!r} is not an integer")


# --------------------------------------------------------------------------- TSV / CSV

def _column_index(spec: str | int, header: list[str] | None, path: Path) -> int:
    if isinstance(spec, int):
        return spec
    if header is None:
        raise DataFormatError(f"{path}: column {spec!r} named, but the file is read without a header row")
    if spec not in header:
        raise DataFormatError(f"{path}:1: no column {spec!r} in the header (columns: {', '.join(header)})")
    return header.index(spec)


def read_table(path: PathLike, *, text_column: str | int = "text", label_column: str | int | None = "label",
               delimiter: str = "\t", header: bool = True, label_map: Mapping[str, int] | None = None,
               skip_bad: bool = False, report: ReadReport | None = None) -> list[TextLabel]:
    """Rows of a TSV (default) or CSV (``delimiter=","``) file as TextLabel.

    Columns are named from the header row or given as 0-based indices. ``label_column=None`` reads
    unlabelled text (label None). TSV is read literally (GLUE files hold unescaped quotes); CSV follows
    the usual quoting rules.
    """
    path = Path(path)
    quoting = csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL
    rows, out = _Rows(path, skip_bad, report), []
    with _reading(path), _open_table(path) as f:
        reader = csv.reader(f, delimiter=delimiter, quoting=quoting)
        records = _records(reader, rows)
        names: list[str] | None = None
        if header:
            first = next(records, None)
            if first is None:
                raise DataFormatError(f"{path}: empty file, expected a header row")
            names = first[1]
        text_at = _column_index(text_column, names, path)
        label_at = None if label_column is None else _column_index(label_column, names, path)
        width = max(text_at, label_at or 0) + 1
        for line_no, fields in records:
            try:
                if len(fields) < width or (names is not None and len(fields) != len(names)):
                    raise BadRow(f"expected {len(names) if names else width} columns, got {len(fields)}")
                label = None if label_at is None else parse_label(fields[label_at], label_map)
            except BadRow as err:
                rows.bad(line_no, str(err))
                continue
            out.append(TextLabel(fields[text_at].strip(), label))
    rows.finish()
    return out


def _open_table(path: Path) -> TextIO:
    """Open a table for ``csv.reader``: ``newline=""`` so quoted fields may hold line breaks, and
    ``utf-8-sig`` so a byte-order mark does not become part of the first column's name."""
    if is_gzip(path):
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _records(reader: Any, rows: _Rows) -> Iterator[tuple[int, list[str]]]:
    """(first line of the record, fields) for each non-blank record; a record may span several lines when a
    quoted field holds a line break. Records the csv module cannot parse go to ``rows.bad``."""
    line_num = reader.line_num
    while True:
        start = line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            line_num = reader.line_num
            rows.bad(start, str(err))
            continue
        line_num = reader.line_num
        if any(cell.strip() for cell in fields):
            yield start, fields


# --------------------------------------------------------------------------- JSON Lines

def _json_object(line: str) -> dict | None:
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise BadRow(f"not valid JSON ({err.msg} at column {err.colno})") from None
    if not isinstance(record, dict):
        raise BadRow(f"expected a JSON object, got {type(record).__name__}")
    return record


def read_records(path: PathLike, *, skip_bad: bool = False, report: ReadReport | None = None) -> list[dict]:
    """The objects of a JSON Lines file, one per non-empty line."""
    return read_rows(path, _json_object, skip_bad=skip_bad, report=report)


def read_jsonl(path: PathLike, *, text_key: str = "text", label_key: str | None = "label",
               label_map: Mapping[str, int] | None = None, skip_bad: bool = False,
               report: ReadReport | None = None) -> list[TextLabel]:
    """JSON Lines ``{"text": ..., "label": ...}`` as TextLabel (``label_key=None``: unlabelled)."""

    def parse(line: str) -> TextLabel | None:
        record = _json_object(line)
        if record is None:
            return None
        for key in (text_key, label_key):
            if key is not None and key not in record:
                raise BadRow(f"no key {key!r} (keys: {', '.join(record)})")
        if not isinstance(record[text_key], str):
            raise BadRow(f"{text_key!r} is not a string")
        label = None if label_key is None else parse_label(str(record[label_key]), label_map)
        return TextLabel(record[text_key], label)

    return read_rows(path, parse, skip_bad=skip_bad, report=report)


# --------------------------------------------------------------------------- parallel text

def read_parallel(paths: Mapping[str, PathLike]) -> list[Parallel]:
    """Line-aligned files keyed by language, e.g. ``{"en": "train.en", "de": "train.de"}``.

    Files of different lengths are misaligned, which no row-skipping can repair: that always raises.
    """
    columns = {lang: read_lines(path) for lang, path in paths.items()}
    counts = {lang: len(lines) for lang, lines in columns.items()}
    if len(set(counts.values())) > 1:
        listing = ", ".join(f"{paths[lang]} has {n} lines" for lang, n in counts.items())
        raise DataFormatError(f"misaligned parallel files: {listing}")
    langs = list(columns)
    return [Parallel(dict(zip(langs, texts, strict=True))) for texts in zip(*columns.values(), strict=True)]


# --------------------------------------------------------------------------- CoNLL columns

def _sentences(path: PathLike) -> Iterator[list[tuple[int, str]]]:
    """Blocks of non-blank (line number, line) pairs separated by blank lines."""
    block: list[tuple[int, str]] = []
    for line_no, line in iter_lines(path):
        if line.strip():
            block.append((line_no, line))
        elif block:
            yield block
            block = []
    if block:
        yield block


def read_conll(path: PathLike, columns: Sequence[str] = ("tokens", "pos", "chunk", "ner"), *,
               delimiter: str | None = None, skip_bad: bool = False,
               report: ReadReport | None = None) -> list[ConllSentence]:
    """Token-per-line files with a blank line between sentences, columns named by ``columns``.

    Columns are split on whitespace (or ``delimiter``). ``-DOCSTART-`` lines mark documents and are
    dropped; each sentence's ``doc`` counts them from 0. A bad line skips its
    whole sentence, since a sentence missing a token would misalign its tags.
    """
    path = Path(path)
    rows, out, doc = _Rows(path, skip_bad, report), [], -1
    for block in _sentences(path):
        if block[0][1].startswith("-DOCSTART-"):
            doc += 1
            block = block[1:]
            if not block:
                continue
        cells: dict[str, list[str]] = {name: [] for name in columns}
        try:
            for line_no, line in block:
                fields = line.split(delimiter)
                if len(fields) != len(columns):
                    raise BadRow(f"expected {len(columns)} columns, got {len(fields)}", line_no)
                for name, value in zip(columns, fields, strict=True):
                    cells[name].append(value)
        except BadRow as err:
            rows.bad(err.line_no, str(err))
            continue
        out.append(ConllSentence(cells, doc=max(doc, 0)))
    rows.finish()
    return out


def _conllu_word(fields: list[str]) -> tuple[str, str, str, str, str, int, str]:
    if len(fields) != 10:
        raise BadRow(f"expected 10 columns, got {len(fields)}")
    head = fields[6]
    if not head.isdigit():
        raise BadRow(f"head {head!r} is not an integer")
    return fields[1], fields[2], fields[3], fields[4], fields[5], int(head), fields[7]


def _conllu_sentence(block: list[tuple[int, str]]) -> UDSentence:
    words, meta = [], {}
    for line_no, line in block:
        if line.startswith("#"):
            key, _, value = line[1:].partition("=")
            meta[key.strip()] = value.strip()
            continue
        fields = line.split("\t")
        word_id = fields[0]
        if "-" in word_id or "." in word_id:  # multiword token range or empty node: not a syntactic word
            continue
        try:
            if not word_id.isdigit():
                raise BadRow(f"word ID {word_id!r} is not an integer")
            words.append(_conllu_word(fields))
        except BadRow as err:
            raise BadRow(str(err), line_no) from None
    columns = list(zip(*words, strict=True)) if words else [()] * 7
    tokens, lemmas, upos, xpos, feats, heads, deprels = (list(c) for c in columns)
    return UDSentence(tokens, lemmas, upos, xpos, feats, heads, deprels,
                      sent_id=meta.get("sent_id", ""), text=meta.get("text", ""))


def read_conllu(path: PathLike, *, skip_bad: bool = False, report: ReadReport | None = None) -> list[UDSentence]:
    """CoNLL-U sentences (10 tab-separated columns; ``# sent_id`` and ``# text`` comments kept)."""
    path = Path(path)
    rows, out = _Rows(path, skip_bad, report), []
    for block in _sentences(path):
        try:
            sentence = _conllu_sentence(block)
        except BadRow as err:
            rows.bad(err.line_no, str(err))
            continue
        if sentence.tokens:  # a block of comments only is not a sentence
            out.append(sentence)
    rows.finish()
    return out


# --------------------------------------------------------------------------- bAbI

def _babi_line(line: str) -> tuple[int, str, list[str] | None]:
    """(ID, text, None) for a story sentence; (ID, question, [answer, supporting IDs]) for a question."""
    number, _, rest = line.partition(" ")
    if not number.isdigit():
        raise BadRow(f"line ID {number!r} is not an integer")
    text, *qa = rest.split("\t")
    if qa and len(qa) != 2:
        raise BadRow(f"a question needs 3 tab-separated fields (question, answer, supporting IDs), got {len(qa) + 1}")
    return int(number), text.strip(), qa or None


def _supporting(ids: str, index_of: dict[int, int]) -> list[int]:
    try:
        return [index_of[int(i)] for i in ids.split()]
    except (ValueError, KeyError):
        raise BadRow(f"supporting IDs {ids!r} do not name earlier sentences of the story") from None


def read_babi(path: PathLike, *, skip_bad: bool = False, report: ReadReport | None = None) -> list[BabiQuestion]:
    """bAbI stories: ``ID sentence`` lines and ``ID question<TAB>answer<TAB>supporting IDs`` lines; ID 1
    starts a new story. One example per question, with the story's sentences so far."""
    path = Path(path)
    rows, out = _Rows(path, skip_bad, report), []
    story: list[str] = []
    index_of: dict[int, int] = {}  # line ID -> index into story
    for line_no, line in iter_lines(path):
        if not line.strip():
            continue
        try:
            number, text, qa = _babi_line(line)
            if number == 1:
                story, index_of = [], {}
            if qa is None:
                index_of[number] = len(story)
                story.append(text)
            else:
                answer, ids = qa
                out.append(BabiQuestion(list(story), text, answer.strip(), _supporting(ids, index_of)))
        except BadRow as err:
            rows.bad(line_no, str(err))
    rows.finish()
    return out


# --------------------------------------------------------------------------- time series

def parse_floats(values: Sequence[str]) -> list[float]:
    try:
        return [float(v) for v in values]
    except ValueError:
        bad = next(v for v in values if not _is_float(v))
        raise BadRow(f"value {bad!r} is not a number") from None


def _is_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _ucr_row(line: str) -> Series | None:
    if not line.strip():
        return None
    # UCR 2018 is tab-separated; the older archive used commas or spaces.
    fields = line.split("\t") if "\t" in line else line.split(",") if "," in line else line.split()
    if len(fields) < 2:
        raise BadRow(f"expected a label and at least one value, got {len(fields)} column(s)")
    try:
        label = parse_label(fields[0])
    except BadRow as err:
        raise BadRow(f"{err}: the class label must be the first column (label, x1, ..., xT)") from None
    return Series(label, parse_floats(fields[1:]))


def read_ucr(path: PathLike, *, skip_bad: bool = False, report: ReadReport | None = None) -> list[Series]:
    """UCR-style time series: one per line, ``label<TAB>x1<TAB>...<TAB>xT`` (commas or spaces also work).

    Missing values (``NaN``) are kept as float('nan').
    """
    return read_rows(path, _ucr_row, skip_bad=skip_bad, report=report)


def _ts_row(line: str) -> Series | None:
    line = line.strip()
    if not line or line.startswith(("#", "@")):
        return None
    *dims, label = line.split(":")
    if len(dims) != 1:
        raise BadRow(f"expected one dimension and a label ('x1,...,xT:label'), got {len(dims)} dimension(s)")
    return Series(parse_label(label), parse_floats(dims[0].split(",")))


def read_ts(path: PathLike, *, skip_bad: bool = False, report: ReadReport | None = None) -> list[Series]:
    """Univariate aeon/sktime ``.ts`` files (the archive's download format): ``@`` header lines, then
    ``x1,...,xT:label`` per series."""
    return read_rows(path, _ts_row, skip_bad=skip_bad, report=report)


def read_series(path: PathLike, **kwargs) -> list[Series]:
    """``read_ts`` for ``.ts`` files, ``read_ucr`` for anything else."""
    name = Path(path).name.removesuffix(".gz")
    return read_ts(path, **kwargs) if name.endswith(".ts") else read_ucr(path, **kwargs)


__all__ = [
    "SCHEMES", "BadRow", "DataFormatError", "ReadReport", "SkippedRowsWarning", "convert_tags", "iob1_to_iob2",
    "iob2_to_iobes", "iobes_to_iob2", "iter_lines", "open_text", "parse_label", "read_babi", "read_conll",
    "read_conllu", "read_jsonl", "read_lines", "read_parallel", "read_records", "read_rows", "read_series",
    "read_table", "read_text", "read_ts", "read_ucr", "spans_to_tags", "tags_to_spans",
]
