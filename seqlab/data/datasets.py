"""The datasets of the curriculum by name: ``load(name, split)`` -> typed examples, ``describe(name)``.

    load("multi30k", "train")                      -> [Parallel(texts={"en": ..., "de": ..., "fr": ...}), ...]
    load("sst2", "validation")                     -> [TextLabel(text, label), ...]
    load("conll2003", "test", scheme="iob2")       -> [NerSentence(tokens, pos, chunk, ner, doc), ...]
    load("ucr", "train", name="GunPoint")          -> [Series(label, values), ...]
    load("babi", "test", task=1, size="1k")        -> [BabiQuestion(story, question, answer, supporting), ...]

Splits are "train", "validation" and "test" everywhere ("valid", "dev" and "val" mean "validation").
Files are found as ``seqlab.data.download`` describes (data directory, cache, canonical URL); every
reader takes ``skip_bad`` and ``report`` (see ``seqlab.data.formats``). The registry is an explicit dict.
"""

from __future__ import annotations

import json
import re
import tarfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from seqlab.data import formats
from seqlab.data.checksums import CHECKSUMS
from seqlab.data.download import DownloadError, Remote, cache_dir, download, find_local, locate
from seqlab.data.examples import (
    Analogy,
    BabiQuestion,
    NerSentence,
    Parallel,
    Series,
    Text,
    TextLabel,
    UDSentence,
    WordPair,
)
from seqlab.data.formats import BadRow, ReadReport
from seqlab.errors import SeqlabError
from seqlab.io import atomic_write

Example = Any  # one of the dataclasses in seqlab.data.examples

SPLIT_ALIASES = {"train": "train", "validation": "validation", "valid": "validation", "dev": "validation",
                 "val": "validation", "test": "test"}


@dataclass(frozen=True)
class DatasetInfo:
    """What ``describe(name)`` tells: splits, where the data comes from and on what terms."""

    name: str
    description: str
    splits: tuple[str, ...]
    url: str  # the canonical home page or download
    license: str
    example: str  # the example type's name
    sizes: Mapping[str, int] = field(default_factory=dict)  # canonical examples per split, default options
    options: Mapping[str, str] = field(default_factory=dict)  # load() keyword -> what it means
    citation: str = ""


@dataclass
class _Source:
    """How one ``load`` call finds its files and reads them."""

    data_dir: str | Path | None
    skip_bad: bool
    report: ReadReport | None

    def path(self, rel: str, remote: Remote | None) -> Path:
        return locate(rel, remote, self.data_dir)

    @property
    def read_options(self) -> dict[str, Any]:
        """Keyword arguments for the formats readers."""
        return {"skip_bad": self.skip_bad, "report": self.report}


@dataclass(frozen=True)
class _Dataset:
    info: DatasetInfo
    read: Callable[..., list]  # (split, source, **options) -> examples
    files: Callable[[], list[str]]  # the files of the default options, to tell whether they are local


def _github(repo: str, commit: str, path: str) -> str:
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"


def _remote(url: str, rel: str, **kwargs: Any) -> Remote:
    """A download checked against the manifest's checksum of ``rel``, where one is known."""
    return Remote(url, sha256=CHECKSUMS.get(rel), **kwargs)


# --------------------------------------------------------------------------- Multi30k

_M30K_COMMIT = "a3d2e0d26b56f3846f66a952536ffed4e401d05a"
_M30K_STEMS = {"train": "train", "validation": "val", "test": "test_2016_flickr"}
_M30K_LANGS = ("en", "de", "fr", "cs")  # cs downloads only; en, de and fr are in shared/data


def _langs(value: str | list[str] | tuple[str, ...]) -> list[str]:
    langs = value.split(",") if isinstance(value, str) else list(value)
    unknown = [lang for lang in langs if lang not in _M30K_LANGS]
    if unknown or not langs:
        raise SeqlabError(f"multi30k languages are {', '.join(_M30K_LANGS)}; got {', '.join(unknown) or 'none'}")
    return langs


def _multi30k_rel(split: str, lang: str) -> str:
    return f"multi30k/{_M30K_STEMS[split]}.{lang}"


def _read_multi30k(split: str, src: _Source, langs: str | list[str] = "en,de,fr") -> list[Parallel]:
    paths = {}
    for lang in _langs(langs):
        rel = _multi30k_rel(split, lang)
        url = _github("multi30k/dataset", _M30K_COMMIT, f"data/task1/raw/{_M30K_STEMS[split]}.{lang}.gz")
        paths[lang] = src.path(rel, _remote(url, rel, gunzip=True))
    return formats.read_parallel(paths)


# --------------------------------------------------------------------------- language modelling text

_SHAKESPEARE = "tinyshakespeare/input.txt"


def _read_shakespeare(split: str, src: _Source) -> list[Text]:
    url = _github("karpathy/char-rnn", "6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e", "data/tinyshakespeare/input.txt")
    text = formats.read_text(src.path(_SHAKESPEARE, _remote(url, _SHAKESPEARE)))
    cut = int(len(text) * 0.9)  # no official split: the first 90% of characters train (char-rnn, nanoGPT)
    return [Text(text[:cut] if split == "train" else text[cut:])]


_WIKITEXT_COMMIT = "77f55b912142e11fcfdf5b530231fb9c52f181e8"
_WIKITEXT_FILES = {"train": "train.txt", "validation": "valid.txt", "test": "test.txt"}


def _read_wikitext2(split: str, src: _Source) -> list[Text]:
    rel = f"wikitext-2/{_WIKITEXT_FILES[split]}"
    url = _github("pytorch/examples", _WIKITEXT_COMMIT, f"word_language_model/data/{rel}")
    return [Text(line) for line in formats.read_lines(src.path(rel, _remote(url, rel)))]


_TEXT8_SPLITS = {"train": (0, 90_000_000), "validation": (90_000_000, 95_000_000), "test": (95_000_000, None)}


def _read_text8(split: str, src: _Source) -> list[Text]:
    text = formats.read_text(src.path("text8/text8", Remote("http://mattmahoney.net/dc/text8.zip", member="text8")))
    start, end = _TEXT8_SPLITS[split]  # Mikolov's convention: 90M / 5M / 5M characters
    return [Text(text[start:end])]


# --------------------------------------------------------------------------- classification text

_SST2_FILES = {"train": "train.tsv", "validation": "dev.tsv", "test": "test.tsv"}


def _read_sst2(split: str, src: _Source) -> list[TextLabel]:
    rel = f"sst2/{_SST2_FILES[split]}"
    remote = _remote("https://dl.fbaipublicfiles.com/glue/data/SST-2.zip", rel, member=f"SST-2/{_SST2_FILES[split]}")
    label = None if split == "test" else "label"  # the GLUE test set is unlabelled
    return formats.read_table(src.path(rel, remote), text_column="sentence", label_column=label, **src.read_options)


_IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"


def _read_imdb(split: str, src: _Source) -> list[TextLabel]:
    rel = f"imdb/{split}.jsonl"
    path = find_local([rel], src.data_dir) or _build_imdb(split)
    return formats.read_jsonl(path, **src.read_options)


def _build_imdb(split: str) -> Path:
    """Turn the official archive's 25,000 review files of a split into the JSON Lines file we read.

    The order (neg then pos, file names sorted as strings) and the JSON are those of shared/data, so the
    result has the manifest's checksum.
    """
    archive = cache_dir() / "downloads" / "aclImdb_v1.tar.gz"
    if not archive.is_file():
        download(_IMDB_URL, archive)
    reviews: dict[str, str] = {}
    pattern = re.compile(rf"aclImdb/{split}/(neg|pos)/[^/]+\.txt")
    try:
        with tarfile.open(archive, "r:gz") as tf:
            for member in tf:
                if member.isfile() and pattern.fullmatch(member.name):
                    reviews[member.name] = tf.extractfile(member).read().decode("utf-8")  # type: ignore[union-attr]
    except (tarfile.TarError, EOFError, OSError) as err:
        raise DownloadError(f"{archive}: damaged archive ({err}); delete it to download it again") from None
    names = sorted(reviews, key=lambda name: ("/pos/" in name, name.rsplit("/", 1)[-1]))
    lines = [json.dumps({"text": reviews[n], "label": int("/pos/" in n)}, ensure_ascii=False) + "\n" for n in names]
    dest = cache_dir() / f"imdb/{split}.jsonl"
    atomic_write(dest, lambda tmp: Path(tmp).write_text("".join(lines), encoding="utf-8"))
    return dest


# --------------------------------------------------------------------------- tagging and parsing

_CONLL_FILES = {"train": "train.txt", "validation": "valid.txt", "test": "test.txt"}
_CONLL_SOURCE = {"train": "eng.train", "validation": "eng.testa", "test": "eng.testb"}


def _read_conll2003(split: str, src: _Source, scheme: str = "iob1") -> list[NerSentence]:
    if scheme not in formats.SCHEMES:
        raise SeqlabError(f"conll2003 tag schemes are {', '.join(formats.SCHEMES)}; got {scheme!r}")
    rel = f"conll2003/{_CONLL_FILES[split]}"
    url = _github("suryasumukh/conll-ner", "18d3e43a09247adaa9ec088485a087d5ffa758a6", f"data/{_CONLL_SOURCE[split]}")
    path = src.path(rel, _remote(url, rel))
    sentences = formats.read_conll(path, ("tokens", "pos", "chunk", "ner"), **src.read_options)

    def tags(values: list[str]) -> list[str]:
        return values if scheme == "iob1" else formats.convert_tags(values, "iob1", scheme)

    return [NerSentence(s.tokens, s.columns["pos"], tags(s.columns["chunk"]), tags(s.columns["ner"]), s.doc)
            for s in sentences]


_UD_FILES = {"train": "train", "validation": "dev", "test": "test"}


def _read_ud_ewt(split: str, src: _Source) -> list[UDSentence]:
    name = f"en_ewt-ud-{_UD_FILES[split]}.conllu"
    rel = f"ud-english-ewt/{name}"
    url = _github("UniversalDependencies/UD_English-EWT", "r2.16", name)
    return formats.read_conllu(src.path(rel, _remote(url, rel)), **src.read_options)


# --------------------------------------------------------------------------- time series

UCR_LOCAL = ("GunPoint", "ItalyPowerDemand", "ArrowHead", "OSULeaf", "ACSF1", "ECG200", "Beef", "CBF", "Coffee",
             "ECGFiveDays", "Earthquakes", "FaceAll", "Lightning2", "MoteStrain", "Plane", "SonyAIBORobotSurface1",
             "Strawberry", "SyntheticControl", "Trace", "TwoLeadECG")
UCR_SIZES = {  # (train, test) series, as published in the archive (DataSummary.csv)
    "GunPoint": (50, 150), "ItalyPowerDemand": (67, 1029), "ArrowHead": (36, 175), "OSULeaf": (200, 242),
    "ACSF1": (100, 100), "ECG200": (100, 100), "Beef": (30, 30), "CBF": (30, 900), "Coffee": (28, 28),
    "ECGFiveDays": (23, 861), "Earthquakes": (322, 139), "FaceAll": (560, 1690), "Lightning2": (60, 61),
    "MoteStrain": (20, 1252), "Plane": (105, 105), "SonyAIBORobotSurface1": (20, 601), "Strawberry": (613, 370),
    "SyntheticControl": (300, 300), "Trace": (100, 100), "TwoLeadECG": (23, 1139), "FordA": (3601, 1320),
}


def _ucr_rels(name: str, split: str) -> tuple[str, Remote]:
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise SeqlabError(f"UCR dataset names are letters and digits, like GunPoint or FordA; got {name!r}")
    stem = f"{name}_{split.upper()}"
    # The archive's per-dataset zips hold the .ts format; our own copies are the UCR 2018 TSV.
    remote = Remote(f"https://www.timeseriesclassification.com/aeon-toolkit/{name}.zip", member=f"{stem}.ts",
                    dest=f"ucr/{name}/{stem}.ts")
    return f"ucr/{name}/{stem}.tsv", remote


def _read_ucr(split: str, src: _Source, name: str | None = None) -> list[Series]:
    if name is None:
        raise SeqlabError(f"ucr needs a dataset name, e.g. name='GunPoint' (here: {', '.join(UCR_LOCAL)}; "
                          "others, like FordA, are downloaded)")
    rel, remote = _ucr_rels(name, split)
    return formats.read_series(src.path(rel, remote), **src.read_options)


# --------------------------------------------------------------------------- word similarity

_GENSIM = ("RaRe-Technologies/gensim", "2d17ddf0f2aa1f7987ddd19c472c9d4da8b5c5c0")


def _word_sim_path(src: _Source, file: str) -> Path:
    rel = f"word-similarity/{file}"
    return src.path(rel, _remote(_github(*_GENSIM, f"gensim/test/test_data/{file}"), rel))


def _read_analogies(split: str, src: _Source) -> list[Analogy]:
    return read_analogies(_word_sim_path(src, "questions-words.txt"), **src.read_options)


def read_analogies(path: str | Path, **read_options: Any) -> list[Analogy]:
    """A file in the Google analogy format: ": section" headers, then "a b c d" lines (a : b :: c : d). A malformed
    line is a one-line error naming the file and line (or skipped, with ``skip_bad=True``)."""
    section = ""

    def parse(line: str) -> Analogy | None:
        nonlocal section
        if line.startswith(":"):
            section = line[1:].strip()
            return None
        if not line.strip():
            return None
        words = line.split()
        if len(words) != 4:
            raise BadRow(f"expected 4 words (a b c d), got {len(words)}")
        return Analogy(*words, section=section)

    return formats.read_rows(path, parse, **read_options)


def _word_pair(line: str) -> WordPair | None:
    if not line.strip() or line.startswith("#"):
        return None
    cells = line.split("\t")
    if len(cells) != 3:
        raise BadRow(f"expected 3 tab-separated columns (word1, word2, score), got {len(cells)}")
    try:
        return WordPair(cells[0], cells[1], float(cells[2]))
    except ValueError:
        raise BadRow(f"score {cells[2]!r} is not a number") from None


def _read_wordsim353(split: str, src: _Source) -> list[WordPair]:
    return formats.read_rows(_word_sim_path(src, "wordsim353.tsv"), _word_pair, **src.read_options)


def _read_simlex999(split: str, src: _Source) -> list[WordPair]:
    return formats.read_rows(_word_sim_path(src, "simlex999.txt"), _word_pair, **src.read_options)


# --------------------------------------------------------------------------- bAbI

BABI_TASKS = (
    "single-supporting-fact", "two-supporting-facts", "three-supporting-facts", "two-arg-relations",
    "three-arg-relations", "yes-no-questions", "counting", "lists-sets", "simple-negation",
    "indefinite-knowledge", "basic-coreference", "conjunction", "compound-coreference", "time-reasoning",
    "basic-deduction", "basic-induction", "positional-reasoning", "size-reasoning", "path-finding",
    "agents-motivations",
)
_BABI_URL = "http://www.thespermwhale.com/jaseweston/babi/tasks_1-20_v1-2.tar.gz"
_BABI_LANGS = ("en", "hn", "shuffled")


def _babi_rel(task: int | str, size: str, lang: str, split: str) -> str:
    try:
        number = int(task)
    except ValueError:
        number = 0
    if not 1 <= number <= len(BABI_TASKS):
        raise SeqlabError(f"bAbI tasks are numbered 1 to 20; got {task!r}")
    if size not in ("1k", "10k") or lang not in _BABI_LANGS:
        raise SeqlabError(f"bAbI comes in size 1k or 10k and language {', '.join(_BABI_LANGS)}; "
                          f"got size={size!r}, lang={lang!r}")
    folder = lang if size == "1k" else f"{lang}-10k"
    return f"babi/{folder}/qa{number}_{BABI_TASKS[number - 1]}_{split}.txt"


def _read_babi(split: str, src: _Source, task: int | str = 1, size: str = "1k", lang: str = "en") -> list[BabiQuestion]:
    rel = _babi_rel(task, size, lang, split)
    member = "tasks_1-20_v1-2/" + rel.removeprefix("babi/")
    return formats.read_babi(src.path(rel, _remote(_BABI_URL, rel, member=member)), **src.read_options)


# --------------------------------------------------------------------------- the registry

_ALL = ("train", "validation", "test")
_TRAIN_TEST = ("train", "test")
_RESEARCH = "research use; cite the dataset paper"

DATASETS: dict[str, _Dataset] = {
    "multi30k": _Dataset(DatasetInfo(
        "multi30k", "Multi30k task 1: Flickr30k image descriptions in English with German and French "
        "translations (raw, line-aligned; test = test_2016_flickr)", _ALL, "https://github.com/multi30k/dataset",
        "non-commercial research and education (Flickr terms apply)", "Parallel",
        {"train": 29000, "validation": 1014, "test": 1000},
        {"langs": "languages to read, comma-separated (default en,de,fr; cs downloads)"},
        "Elliott et al., Multi30K, 2016"),
        _read_multi30k, lambda: [_multi30k_rel(s, lang) for s in _ALL for lang in ("en", "de", "fr")]),
    "tinyshakespeare": _Dataset(DatasetInfo(
        "tinyshakespeare", "Tiny Shakespeare (char-rnn): 1.1M characters; one Text per split, the first 90% "
        "of characters for train and the rest for validation", ("train", "validation"),
        "https://github.com/karpathy/char-rnn", "public domain", "Text", {"train": 1, "validation": 1},
        citation="Karpathy, char-rnn, 2015"),
        _read_shakespeare, lambda: [_SHAKESPEARE]),
    "wikitext-2": _Dataset(DatasetInfo(
        "wikitext-2", "WikiText-2 v1 (tokenized): Wikipedia Good/Featured articles; one Text per line "
        "(add <eos> per line for the published token counts)", _ALL,
        "https://github.com/pytorch/examples/tree/main/word_language_model", "CC BY-SA 3.0", "Text",
        {"train": 36718, "validation": 3760, "test": 4358}, citation="Merity et al., Pointer Sentinel Mixture "
        "Models, 2016"),
        _read_wikitext2, lambda: [f"wikitext-2/{f}" for f in _WIKITEXT_FILES.values()]),
    "text8": _Dataset(DatasetInfo(
        "text8", "text8: the first 10^8 bytes of cleaned English Wikipedia; one Text per split "
        "(90M / 5M / 5M characters)", _ALL, "http://mattmahoney.net/dc/textdata.html",
        "Wikipedia text (CC BY-SA)", "Text", {"train": 1, "validation": 1, "test": 1},
        citation="Mahoney, 2006"),
        _read_text8, lambda: ["text8/text8"]),
    "sst2": _Dataset(DatasetInfo(
        "sst2", "GLUE SST-2: binary sentence sentiment (1 = positive); the test split is unlabelled "
        "(label None)", _ALL, "https://gluebenchmark.com/tasks", "research use (GLUE); cite SST and GLUE",
        "TextLabel", {"train": 67349, "validation": 872, "test": 1821},
        citation="Socher et al., EMNLP 2013; Wang et al., GLUE, 2019"),
        _read_sst2, lambda: [f"sst2/{f}" for f in _SST2_FILES.values()]),
    "imdb": _Dataset(DatasetInfo(
        "imdb", "IMDB Large Movie Review Dataset v1: 50k polar reviews (1 = positive), neg first then pos",
        _TRAIN_TEST, "https://ai.stanford.edu/~amaas/data/sentiment/", _RESEARCH + " (Maas et al., 2011)",
        "TextLabel", {"train": 25000, "test": 25000}, citation="Maas et al., ACL 2011"),
        _read_imdb, lambda: ["imdb/train.jsonl", "imdb/test.jsonl"]),
    "conll2003": _Dataset(DatasetInfo(
        "conll2003", "CoNLL-2003 English NER (Reuters): tokens with POS, chunk and NER tags; -DOCSTART- "
        "lines mark documents (NerSentence.doc)", _ALL, "https://www.clips.uantwerpen.be/conll2003/ner/",
        "research only (Reuters RCV1 agreement)", "NerSentence", {"train": 14041, "validation": 3250, "test": 3453},
        {"scheme": "tag scheme for ner and chunk: iob1 (as released), iob2 or iobes"},
        "Tjong Kim Sang & De Meulder, CoNLL 2003"),
        _read_conll2003, lambda: [f"conll2003/{f}" for f in _CONLL_FILES.values()]),
    "ud-english-ewt": _Dataset(DatasetInfo(
        "ud-english-ewt", "Universal Dependencies English Web Treebank v2.16: words with lemmas, UPOS, "
        "XPOS, features and dependency trees", _ALL, "https://universaldependencies.org/treebanks/en_ewt/",
        "CC BY-SA 4.0", "UDSentence", {"train": 12544, "validation": 2001, "test": 2077},
        citation="Silveira et al., LREC 2014"),
        _read_ud_ewt, lambda: [f"ud-english-ewt/en_ewt-ud-{f}.conllu" for f in _UD_FILES.values()]),
    "ucr": _Dataset(DatasetInfo(
        "ucr", "UCR time-series classification archive: one dataset per name (here: "
        f"{', '.join(UCR_LOCAL)}; the rest of the archive, e.g. FordA, downloads)", _TRAIN_TEST,
        "https://www.cs.ucr.edu/~eamonn/time_series_data_2018/", "free for research; cite the archive",
        "Series", {}, {"name": "the dataset, e.g. GunPoint (required)"}, "Dau et al., The UCR Time Series Archive, "
        "2019"),
        _read_ucr, lambda: [_ucr_rels("GunPoint", s)[0] for s in _TRAIN_TEST]),
    "google-analogy": _Dataset(DatasetInfo(
        "google-analogy", "Google word analogies a:b :: c:d, 14 sections (5 semantic, 9 syntactic)", ("test",),
        "https://code.google.com/archive/p/word2vec/", "Apache 2.0", "Analogy", {"test": 19544},
        citation="Mikolov et al., 2013"),
        _read_analogies, lambda: ["word-similarity/questions-words.txt"]),
    "wordsim353": _Dataset(DatasetInfo(
        "wordsim353", "WordSim-353: word pairs with mean human relatedness scores (0-10)", ("test",),
        "http://www.cs.technion.ac.il/~gabr/resources/data/wordsim353/", _RESEARCH, "WordPair", {"test": 353},
        citation="Finkelstein et al., 2002"),
        _read_wordsim353, lambda: ["word-similarity/wordsim353.tsv"]),
    "simlex999": _Dataset(DatasetInfo(
        "simlex999", "SimLex-999: word pairs with human similarity scores (0-10)", ("test",),
        "https://fh295.github.io/simlex.html", _RESEARCH, "WordPair", {"test": 999},
        citation="Hill et al., 2015"),
        _read_simlex999, lambda: ["word-similarity/simlex999.txt"]),
    "babi": _Dataset(DatasetInfo(
        "babi", "bAbI question answering v1.2: 20 tasks of short stories; one BabiQuestion per question "
        "(no validation split: hold out 10% of train)", _TRAIN_TEST, "https://research.facebook.com/downloads/babi/",
        "CC BY 3.0", "BabiQuestion", {"train": 1000, "test": 1000},
        {"task": "task number 1-20 (default 1)", "size": "1k or 10k training questions (default 1k)",
         "lang": "en, hn or shuffled (default en)"}, "Weston et al., 2015"),
        _read_babi, lambda: [_babi_rel(1, "1k", "en", s) for s in _TRAIN_TEST]),
}


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_BY_KEY = {_key(name): name for name in DATASETS} | {"wikitext2": "wikitext-2", "udewt": "ud-english-ewt",
                                                      "sst": "sst2", "analogy": "google-analogy"}


def _dataset(name: str) -> _Dataset:
    canonical = _BY_KEY.get(_key(name))
    if canonical is None:
        raise SeqlabError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[canonical]


def _split(info: DatasetInfo, split: str) -> str:
    canonical = SPLIT_ALIASES.get(split.lower())
    if canonical not in info.splits:
        raise SeqlabError(f"{info.name} has the split(s) {', '.join(info.splits)}; got {split!r}")
    return canonical


# --------------------------------------------------------------------------- public API

def dataset_names() -> list[str]:
    return list(DATASETS)


def describe(name: str) -> DatasetInfo:
    return _dataset(name).info


def load(name: str, /, split: str = "train", *, data_dir: str | Path | None = None, skip_bad: bool = False,
         report: ReadReport | None = None, **options: Any) -> list[Example]:
    """The examples of one split of a dataset (see ``describe(name)`` for its splits and options).

    ``skip_bad=True`` skips malformed rows (with a warning; ``report`` collects the count) instead of
    raising :class:`seqlab.data.formats.DataFormatError`.
    """
    dataset = _dataset(name)
    info = dataset.info
    unknown = sorted(set(options) - set(info.options))
    if unknown:
        offered = ", ".join(info.options) or "none"
        raise SeqlabError(f"{info.name} has no option {', '.join(unknown)} (its options: {offered})")
    return dataset.read(_split(info, split), _Source(data_dir, skip_bad, report), **options)


def local_files(name: str, data_dir: str | Path | None = None) -> list[Path]:
    """The files of ``name`` (default options) present in the data directory or cache; no download."""
    found = (find_local([rel], data_dir) for rel in _dataset(name).files())
    return [path for path in found if path is not None]


def is_local(name: str, data_dir: str | Path | None = None) -> bool:
    return len(local_files(name, data_dir)) == len(_dataset(name).files())


def summarize(example: Example, width: int = 100) -> str:
    """One line per field of an example, values shortened to ``width`` characters (for ``seqlab data show``)."""
    if not is_dataclass(example):
        return _shorten(repr(example), width)
    return "\n".join(f"{f.name}: {_shorten(_show(getattr(example, f.name)), width)}" for f in fields(example))


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "  ".join(f"[{k}] {v}" for k, v in value.items())
    if isinstance(value, list) and value and isinstance(value[0], str):
        return " ".join(value) if all(" " not in v for v in value) else " | ".join(value)
    if isinstance(value, list) and len(value) > 8 and isinstance(value[0], float):
        return f"{len(value)} values: " + ", ".join(f"{v:.3g}" for v in value[:6]) + ", ..."
    return str(value)


def _shorten(text: str, width: int) -> str:
    text = text.replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 3] + "..."


__all__ = ["DATASETS", "DatasetInfo", "Example", "dataset_names", "describe", "is_local", "load", "local_files",
           "summarize"]
