"""Download and cache without a network: file:// URLs and a fake opener serving tiny local files."""

import gzip
import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from seqlab.data import download, load
from seqlab.data.download import DownloadError, Remote
from seqlab.data.examples import Series, Text, TextLabel
from seqlab.errors import SeqlabError


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty cache and no data directory from the environment."""
    monkeypatch.setenv(download.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(download.DATA_ENV, raising=False)
    return tmp_path / "cache"


@pytest.fixture
def served(monkeypatch):
    """Serve ``{url: bytes}`` in place of the network; any other URL fails as if offline. Returns the dict
    and records the URLs asked for."""
    files: dict[str, bytes] = {}
    asked: list[str] = []

    def opener(url: str):
        asked.append(url)
        if url not in files:
            raise OSError("network is unreachable")
        return io.BytesIO(files[url])

    monkeypatch.setattr(download, "opener", opener)
    return files, asked


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_file_url_download_checks_sha256(tmp_path):
    source = tmp_path / "src.txt"
    source.write_bytes(b"hello\n")
    dest = download.download(source.as_uri(), tmp_path / "out" / "a.txt", sha256=sha(b"hello\n"), progress=False)
    assert dest.read_bytes() == b"hello\n"


def test_checksum_mismatch_leaves_nothing(tmp_path):
    source = tmp_path / "src.txt"
    source.write_bytes(b"tampered\n")
    with pytest.raises(DownloadError, match=r"checksum mismatch for file://.*expected sha256 0000"):
        download.download(source.as_uri(), tmp_path / "out" / "a.txt", sha256="0" * 64, progress=False)
    assert not (tmp_path / "out" / "a.txt").exists()
    assert list((tmp_path / "out").iterdir()) == []  # no temporary file left either


def test_gunzip_download_verifies_decompressed_content(tmp_path):
    source = tmp_path / "src.txt.gz"
    source.write_bytes(gzip.compress(b"line one\nline two\n"))
    dest = download.download(source.as_uri(), tmp_path / "a.txt", sha256=sha(b"line one\nline two\n"),
                             gunzip=True, progress=False)
    assert dest.read_bytes() == b"line one\nline two\n"


def test_offline_download_is_one_line_error(cache, served):
    with pytest.raises(DownloadError, match=r"could not download https://x/y.txt: network is unreachable \(no inte"):
        download.download("https://x/y.txt", cache / "y.txt")


def test_lookup_order_data_dir_then_env_then_cache(tmp_path, cache, monkeypatch):
    for root in ("arg", "env"):
        (tmp_path / root / "ds").mkdir(parents=True)
        (tmp_path / root / "ds" / "f.txt").write_text(root)
    (cache / "ds").mkdir(parents=True)
    (cache / "ds" / "f.txt.gz").write_bytes(gzip.compress(b"cache"))
    monkeypatch.setenv(download.DATA_ENV, str(tmp_path / "env"))
    assert download.locate("ds/f.txt", None, tmp_path / "arg").read_text() == "arg"
    assert download.locate("ds/f.txt", None).read_text() == "env"
    monkeypatch.delenv(download.DATA_ENV)
    assert download.locate("ds/f.txt", None).name == "f.txt.gz"  # a gzipped copy counts
    with pytest.raises(SeqlabError, match=r"ds/g.txt not found in .* no public download"):
        download.locate("ds/g.txt", None)


def test_not_found_lists_searched_dirs_and_bad_data_dir_is_an_error(tmp_path, cache, served):
    _, asked = served
    (tmp_path / "data").mkdir()
    with pytest.raises(SeqlabError) as err:
        download.locate("ds/g.txt", None, tmp_path / "data")
    message = str(err.value)
    assert f"({tmp_path / 'data'}, {cache})" in message and "--data-dir" not in message
    assert message.endswith(f"put it at {tmp_path / 'data' / 'ds' / 'g.txt'}")
    with pytest.raises(SeqlabError) as err:
        download.locate("ds/g.txt", None)
    assert f"({cache})" in str(err.value) and "--data-dir" in str(err.value)
    (tmp_path / "file").write_text("x")
    remote = Remote("https://x/g.txt")
    with pytest.raises(SeqlabError, match=r"^data directory .*missing does not exist$"):
        download.locate("ds/g.txt", remote, tmp_path / "missing")
    with pytest.raises(SeqlabError, match=r"^data directory .*file is not a directory$"):
        download.locate("ds/g.txt", remote, tmp_path / "file")
    assert asked == []  # no download was attempted


def test_archive_members_zip_and_tar(cache, served):
    files, asked = served
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("top/a.txt", "from zip\n")
    tarred = io.BytesIO()
    with tarfile.open(fileobj=tarred, mode="w:gz") as tf:
        data = b"from tar\n"
        info = tarfile.TarInfo("pack/dir/b.txt")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    files["https://x/a.zip"], files["https://x/b.tar.gz"] = zipped.getvalue(), tarred.getvalue()

    got = download.locate("ds/a.txt", Remote("https://x/a.zip", sha256=sha(b"from zip\n"), member="a.txt"))
    assert got.read_text() == "from zip\n"  # a bare name finds the member in any folder
    remote = Remote("https://x/b.tar.gz", member="pack/dir/b.txt")
    assert download.locate("ds/b.txt", remote).read_text() == "from tar\n"
    assert download.locate("ds/b.txt", remote) == cache / "ds" / "b.txt"  # now cached: no second download
    assert asked == ["https://x/a.zip", "https://x/b.tar.gz"]
    with pytest.raises(DownloadError, match=r"holds no file 'c.txt'"):
        download.locate("ds/c.txt", Remote("https://x/a.zip", member="c.txt"))


def test_text8_downloads_through_the_same_code_path(cache, served):
    files, _ = served
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("text8", " anarchism originated as a term")
    files["http://mattmahoney.net/dc/text8.zip"] = archive.getvalue()
    [train] = load("text8", "train")
    assert train == Text(" anarchism originated as a term")  # shorter than 90M characters: all of it trains
    assert load("text8", "test") == [Text("")]


def test_missing_ucr_dataset_downloads_ts_format(cache, served):
    files, _ = served
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("FordA_TRAIN.ts", "@problemName FordA\n@data\n0.1,0.2:-1\n0.3,0.4:1\n")
    files["https://www.timeseriesclassification.com/aeon-toolkit/FordA.zip"] = archive.getvalue()
    assert load("ucr", "train", name="FordA") == [Series(-1, [0.1, 0.2]), Series(1, [0.3, 0.4])]
    assert (cache / "ucr" / "FordA" / "FordA_TRAIN.ts").is_file()


def test_offline_missing_dataset_says_what_to_do(cache, served):
    with pytest.raises(SeqlabError, match=r"could not download .*FordA.zip.*pass --data-dir"):
        load("ucr", "test", name="FordA")


def test_imdb_is_built_from_the_official_archive(cache, served):
    files, _ = served
    reviews = {"aclImdb/train/pos/0_9.txt": "Great <br />film", "aclImdb/train/neg/10_1.txt": "Awful",
               "aclImdb/train/neg/2_3.txt": "Dull", "aclImdb/test/pos/1_8.txt": "Nice", "aclImdb/README": "x"}
    tarred = io.BytesIO()
    with tarfile.open(fileobj=tarred, mode="w:gz") as tf:
        for name, text in reviews.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tf.addfile(info, io.BytesIO(text.encode()))
    files["https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"] = tarred.getvalue()
    # neg before pos; within a class, file names sorted as strings ("10_1" before "2_3")
    assert load("imdb", "train") == [TextLabel("Awful", 0), TextLabel("Dull", 0), TextLabel("Great <br />film", 1)]
    first = (cache / "imdb" / "train.jsonl").read_text(encoding="utf-8").splitlines()[0]
    assert json.loads(first) == {"text": "Awful", "label": 0}
