"""Where dataset files come from: a data directory, else the cache, filled by downloading.

Look-up order for a dataset file ``rel`` (e.g. ``"sst2/train.tsv"``):
    1. ``data_dir`` (the argument or ``--data-dir``), else ``$SEQLAB_DATA_DIR``;
    2. the cache, ``$SEQLAB_CACHE`` or ``~/.cache/seqlab``;
    3. a download from the dataset's canonical URL into the cache.
``rel`` and ``rel + ".gz"`` both count, so a directory may hold files gzipped or not.

Downloads stream through a sha256 check (the manifest's checksums, where known) and a tqdm progress bar
into a temporary file that is renamed into place only when complete and verified, so an interrupted or
corrupted download never leaves a file that looks valid.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tarfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from seqlab.errors import SeqlabError
from seqlab.io import atomic_write

DATA_ENV = "SEQLAB_DATA_DIR"
CACHE_ENV = "SEQLAB_CACHE"
CHUNK = 1 << 20

# The function that opens URLs; tests swap it for one that never touches the network.
Opener = Callable[[str], BinaryIO]


def _urlopen(url: str) -> BinaryIO:
    return urllib.request.urlopen(url, timeout=60)  # http(s) and file:// URLs


opener: Opener = _urlopen


@dataclass(frozen=True)
class Remote:
    """A dataset file's canonical source.

    url:     the file, or an archive (.zip, .tar.gz) holding it as ``member``.
    sha256:  of the file as stored in the cache (after gunzip or extraction); None where unknown.
    member:  path inside the archive; a name with no folder matches that file name anywhere in it.
    gunzip:  the URL serves gzip and the cache keeps it decompressed.
    dest:    path under the cache, when it differs from the dataset's own ``rel`` (another format).
    """

    url: str
    sha256: str | None = None
    member: str | None = None
    gunzip: bool = False
    dest: str | None = None


class DownloadError(SeqlabError):
    """A download that failed or did not match its checksum."""


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "seqlab")


def search_dirs(data_dir: str | Path | None = None) -> list[Path]:
    """The directories looked in, in order: the data directory (argument, else env), then the cache.

    A ``data_dir`` given as an argument must be an existing directory: a typo there should be an error,
    not a silent fall-back to the cache (or a download)."""
    if data_dir:
        if not Path(data_dir).exists():
            raise SeqlabError(f"data directory {data_dir} does not exist")
        if not Path(data_dir).is_dir():
            raise SeqlabError(f"data directory {data_dir} is not a directory")
    first = data_dir or os.environ.get(DATA_ENV)
    return [Path(first), cache_dir()] if first else [cache_dir()]


def find_local(rels: Iterable[str], data_dir: str | Path | None = None) -> Path | None:
    """The first of ``rels`` (or its ``.gz``) found in the search directories, else None."""
    rels = list(rels)
    for root in search_dirs(data_dir):
        for rel in rels:
            for candidate in (root / rel, root / f"{rel}.gz"):
                if candidate.is_file():
                    return candidate
    return None


def locate(rel: str, remote: Remote | None, data_dir: str | Path | None = None) -> Path:
    """The path of dataset file ``rel``: found locally, else downloaded into the cache."""
    rels = [rel] if remote is None or remote.dest is None else [rel, remote.dest]
    found = find_local(rels, data_dir)
    if found is not None:
        return found
    if remote is None:
        dirs = search_dirs(data_dir)
        where = ", ".join(str(d) for d in dirs)
        hint = (f"put it at {dirs[0] / rel}" if len(dirs) > 1
                else f"put it at {dirs[0] / rel}, or in a data directory passed as --data-dir (or ${DATA_ENV})")
        raise SeqlabError(f"{rel} not found in the searched directories ({where}), and it has no public "
                          f"download: {hint}")
    return fetch(remote, cache_dir() / (remote.dest or rel))


def fetch(remote: Remote, dest: Path, *, progress: bool | None = None) -> Path:
    """Download ``remote`` to ``dest`` (verified, atomic) and return ``dest``."""
    if remote.member is None:
        download(remote.url, dest, sha256=remote.sha256, gunzip=remote.gunzip, progress=progress)
        return dest
    archive = cache_dir() / "downloads" / remote.url.rstrip("/").rsplit("/", 1)[-1]
    if not archive.is_file():  # one archive serves many members (every bAbI task, every SST-2 split)
        download(remote.url, archive, progress=progress)
    with _open_member(archive, remote.member) as src:
        _write_verified(src, dest, remote.sha256, remote.url)
    return dest


def download(url: str, dest: str | Path, *, sha256: str | None = None, gunzip: bool = False,
             progress: bool | None = None) -> Path:
    """Stream ``url`` to ``dest`` through a progress bar and a sha256 check; raise DownloadError on failure."""
    try:
        response = opener(url)
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise DownloadError(f"could not download {url}: {reason} (no internet? put the file in the data "
                            f"directory or pass --data-dir)") from None
    with response:
        total = _content_length(response)
        with tqdm(total=total, unit="B", unit_scale=True, desc=Path(dest).name,
                  disable=None if progress is None else not progress) as bar:
            raw = _Counting(response, bar.update)
            source: BinaryIO = gzip.GzipFile(fileobj=raw) if gunzip else raw  # type: ignore[assignment]
            _write_verified(source, Path(dest), sha256, url)
    return Path(dest)


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _write_verified(src: BinaryIO, dest: Path, sha256: str | None, url: str) -> None:
    """Copy ``src`` into ``dest`` atomically, hashing on the way; a mismatch leaves nothing behind."""

    def write(tmp: str) -> None:
        digest = hashlib.sha256()
        try:
            with open(tmp, "wb") as out:
                while chunk := src.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
        except (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError) as err:
            raise DownloadError(f"download of {url} failed or is damaged: {err}") from None
        if sha256 is not None and digest.hexdigest() != sha256:
            raise DownloadError(f"checksum mismatch for {url}: expected sha256 {sha256}, got "
                                f"{digest.hexdigest()} (a changed or corrupted file; nothing was saved)")

    atomic_write(dest, write)


def _content_length(response: BinaryIO) -> int | None:
    headers = getattr(response, "headers", None)
    length = headers.get("Content-Length") if headers is not None else None
    return int(length) if length and length.isdigit() else None


class _Counting:
    """A read-only stream that reports how many bytes pass through (to the progress bar)."""

    def __init__(self, stream: BinaryIO, update: Callable[[int], object]):
        self.stream, self.update = stream, update

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        self.update(len(chunk))
        return chunk


@contextmanager
def _open_member(archive: Path, member: str) -> Iterator[BinaryIO]:
    """A member of a zip or tar archive, by its path or (with no folder given) by its file name."""
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf, zf.open(_match(zf.namelist(), member, archive)) as src:
                yield src  # type: ignore[misc]
            return
        with tarfile.open(archive, "r:*") as tf:
            names = [m.name for m in tf.getmembers() if m.isfile()]
            src = tf.extractfile(_match(names, member, archive))
            assert src is not None  # regular files always have data
            yield src
    except (zipfile.BadZipFile, tarfile.TarError, EOFError) as err:
        raise DownloadError(f"{archive}: damaged archive ({err}); delete it to download it again") from None


def _match(names: list[str], member: str, archive: Path) -> str:
    if member in names:
        return member
    if "/" not in member:
        matches = [n for n in names if n.rsplit("/", 1)[-1] == member]
        if len(matches) == 1:
            return matches[0]
    raise DownloadError(f"{archive} holds no file {member!r}")
