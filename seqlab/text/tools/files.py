"""Reading user files for the text tools: every error names the file (and the line, for bad bytes)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from seqlab.errors import SeqlabError


@dataclass(frozen=True)
class Document:
    name: str  # file name relative to the searched directory, or "line N" of a one-document-per-line file
    text: str


def read_text(path: str | Path) -> str:
    """A UTF-8 text file, or a SeqlabError naming the file (and the line of the first undecodable byte)."""
    path = Path(path)
    if not path.exists():
        raise SeqlabError(f"{path}: no such file")
    if not path.is_file():
        raise SeqlabError(f"{path}: not a regular file")
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise SeqlabError(f"{path}: line {line}: not UTF-8 text (byte 0x{data[err.start]:02x} at offset "
                          f"{err.start})") from None


def read_documents(path: str | Path) -> list[Document]:
    """A directory's ``*.txt`` files (searched recursively, sorted), or a file's non-blank lines, as documents."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.txt") if p.is_file())
        if not files:
            raise SeqlabError(f"{path}: no .txt files in this directory")
        return [Document(str(p.relative_to(path)), read_text(p)) for p in files]
    # "\n" only: str.splitlines() also splits at form feeds, U+2028, \x85 ..., so "line N" would drift
    lines = [line.removesuffix("\r") for line in read_text(path).split("\n")]
    documents = [Document(f"line {i}", line) for i, line in enumerate(lines, 1) if line.strip()]
    if not documents:
        raise SeqlabError(f"{path}: no documents (the file has no non-blank lines)")
    return documents
