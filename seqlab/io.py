"""Atomic file writes: a run killed mid-write (or the machine losing power) leaves the previous file,
never a truncated one: write a temporary file beside the target, fsync it, rename it over the target,
fsync the directory so the rename itself is on disk."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


def atomic_write(path: str | Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes private (0600) files; outputs follow the umask
        _fsync(tmp)
        os.replace(tmp, path)  # atomic on POSIX and Windows
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":  # directories cannot be opened for fsync on Windows; the rename is durable there
        return
    with contextlib.suppress(OSError):  # some file systems refuse fsync on directories; the file itself is synced
        _fsync(str(path))


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it; put it back at once
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_json(path: str | Path, data: object) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def check_output_file(path: str | Path, *, flag: str = "--out") -> Path:
    """A file a command is about to write: refuse (one line) a directory, or a parent path that is a file,
    before any work is done."""
    from seqlab.errors import SeqlabError

    path = Path(path)
    if path.is_dir():
        raise SeqlabError(f"{flag} {path} is a directory; name a file to write")
    _check_parents(path, flag)
    return path


def check_output_dir(path: str | Path, *, flag: str = "--out") -> Path:
    """A directory a command is about to write into: refuse (one line) an existing file at the path or above it."""
    from seqlab.errors import SeqlabError

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise SeqlabError(f"{flag} {path} is a file; name a directory")
    _check_parents(path, flag)
    return path


def _check_parents(path: Path, flag: str) -> None:
    from seqlab.errors import SeqlabError

    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise SeqlabError(f"{flag} {path}: {parent} is a file, not a directory")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise SeqlabError(f"{flag} {path}: cannot write into {parent} (permission denied)")
            return


# ---- input lines: --file and standard input read alike ------------------------------------------------

MAX_LINE_BYTES = 1 << 24


def read_line_batches(source: str | Path | int | Callable[[int], bytes], *, name: str | None = None,
                      chunk: int = 1 << 16) -> Iterator[list[tuple[int, str]]]:
    """(line number, text) batches from a file path, an open file descriptor (standard input: 0) or a
    ``read(n) -> bytes`` function.

    Lines end at ``\\n`` only (a trailing ``\\r`` is dropped), never at form feeds or U+2028 as
    ``str.splitlines`` would, so outputs line up with input lines and error line numbers are right. Each batch
    holds the complete lines that had arrived by one read, so a pipe with gaps gets each answer as soon as its
    line is read while a file is processed in large batches. Invalid UTF-8 and binary input (a NUL byte) are a
    one-line ``SeqlabError`` naming the line."""
    from seqlab.errors import SeqlabError

    label = name or ("standard input" if isinstance(source, int) else str(source))
    opened = isinstance(source, str | Path)
    try:
        fd = os.open(source, os.O_RDONLY) if opened else source
    except OSError as err:
        raise SeqlabError(f"cannot read {label}: {err.strerror}") from err
    read = source if callable(source) else lambda n: os.read(fd, n)
    try:
        if opened and not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SeqlabError(f"{label}: not a regular file")
        number, pending = 0, b""
        while True:
            data = read(chunk)
            lines = (pending + data).split(b"\n")
            pending = lines.pop() if data else b""
            if len(pending) > MAX_LINE_BYTES:
                raise SeqlabError(f"{label}:{number + len(lines) + 1}: a line longer than {MAX_LINE_BYTES:,} bytes")
            if not data and lines == [b""]:
                lines = []
            batch = []
            for raw in lines:
                number += 1
                batch.append((number, _decode_line(raw, label, number)))
            if batch:
                yield batch
            if not data:
                return
    finally:
        if opened:
            os.close(fd)


def _decode_line(raw: bytes, label: str, number: int) -> str:
    from seqlab.errors import SeqlabError

    if b"\0" in raw:
        raise SeqlabError(f"{label}:{number}: binary data (a NUL byte); expected UTF-8 text, one input per line")
    try:
        return raw.decode("utf-8").removesuffix("\r")
    except UnicodeDecodeError as err:
        raise SeqlabError(f"{label}:{number}: not UTF-8 text ({err.reason} at byte {err.start + 1} of the line)"
                          ) from err
