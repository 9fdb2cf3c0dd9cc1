"""`seqlab text ...`: the classic text tools.

    seqlab text stats FILE [--top N] [--json]
    seqlab text lang [TEXT ...] [--data-dir D] [--retrain] [--eval]   (texts from standard input when none given)
    seqlab text search DIR_OR_FILE QUERY [--method bm25|tfidf | --semantic] [-k 10] [--k1 1.5] [--b 0.75]
    seqlab text dups DIR_OR_FILE [--threshold 0.8] [--shingle 3] [--num-perm 128]

A directory means its .txt files, one document each; a file means one document per non-blank line.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from seqlab.errors import SeqlabError

MAX_K1 = 1000.0  # BM25 is plain linear term frequency long before; far larger values overflow the scores to inf
MAX_NUM_PERM = 8192  # MinHash's standard error sqrt(J(1 - J) / num_perm) is <= 0.006 here; more only costs time


def _whole_number(value: str, least: int, what: str, most: int | None = None) -> int:
    try:
        number = int(value)
    except ValueError:
        number = least - 1
    if number < least or (most is not None and number > most):
        raise argparse.ArgumentTypeError(f"expected {what}, got {value!r}")
    return number


def _positive_int(value: str) -> int:
    """>= 1: -k, --shingle."""
    return _whole_number(value, 1, "a positive whole number")


def _num_perm(value: str) -> int:
    """1..MAX_NUM_PERM: --num-perm (a billion hash functions would just hang)."""
    return _whole_number(value, 1, f"a whole number in 1..{MAX_NUM_PERM}", MAX_NUM_PERM)


def _count(value: str) -> int:
    """>= 0: --top (0 means all)."""
    return _whole_number(value, 0, "a whole number >= 0")


def _similarity(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 < number <= 1:  # NaN fails every comparison, so it is refused too
        raise argparse.ArgumentTypeError(f"expected a similarity in (0, 1], got {value!r}")
    return number


def _finite_in(value: str, low: float, high: float, what: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and low <= number <= high):
        raise argparse.ArgumentTypeError(f"expected {what}, got {value!r}")
    return number


def _k1(value: str) -> float:
    """--k1: BM25 term-frequency saturation, finite, 0..MAX_K1 (a negative k1 divides by zero or flips scores)."""
    return _finite_in(value, 0.0, MAX_K1, f"a number in [0, {MAX_K1:g}]")


def _b(value: str) -> float:
    """--b: BM25 length normalisation, a finite share in [0, 1]."""
    return _finite_in(value, 0.0, 1.0, "a number in [0, 1]")


def cmd_stats(args: argparse.Namespace) -> None:
    from seqlab.text.tools.files import read_text
    from seqlab.text.tools.stats import format_stats, text_stats

    stats = text_stats(read_text(args.file))
    top = args.top or None  # --top 0: everything
    if args.json:
        print(json.dumps({"file": args.file, **stats.to_dict(top)}, indent=2, ensure_ascii=False))
    else:
        print(f"{args.file}\n{format_stats(stats, top)}")


def _lang_texts(args: argparse.Namespace) -> list[str]:
    texts = list(args.text)
    if not texts and not args.eval:
        if sys.stdin is None or sys.stdin.isatty():
            raise SeqlabError("no input text: pass TEXT arguments, pipe lines on standard input, or use --eval")
        texts = [line.rstrip("\n") for line in sys.stdin if line.strip()]
    for i, text in enumerate(texts, 1):
        if not text.strip():
            raise SeqlabError(f"input {i} is empty: give some text")
    return texts


def cmd_lang(args: argparse.Namespace) -> None:
    from seqlab.text.tools import langid

    texts = _lang_texts(args)
    model, trained = langid.load_or_train(args.data_dir, retrain=args.retrain)
    if trained:
        print(f"trained on Multi30k train ({', '.join(model.languages)}), cached as "
              f"{langid.model_path(model.config)}", file=sys.stderr)
    for text in texts:
        print(langid.describe(model, text))
    if args.eval:
        test = langid.multi30k_sentences("test", args.data_dir)
        print(f"Multi30k test, whole sentences: {langid.evaluate(model, test).format()}\n")
        short = langid.first_words(test, 2)
        print(f"Multi30k test, first 2 words only: {langid.evaluate(model, short).format()}")


def cmd_search(args: argparse.Namespace) -> None:
    from seqlab.text.tools.files import read_documents
    from seqlab.text.tools.search import InvertedIndex

    if not args.query.strip():
        raise SeqlabError("the query is empty")
    documents = read_documents(args.path)
    text_of = {doc.name: doc.text for doc in documents}
    if args.semantic:
        from seqlab.text.tools.semantic import SemanticIndex

        hits = SemanticIndex.build(documents).search(args.query, k=args.k)
    else:
        hits = InvertedIndex.build(documents).search(args.query, method=args.method, k=args.k, k1=args.k1, b=args.b)
    if not hits:
        print(f"no document matches {args.query!r}")
    for rank, hit in enumerate(hits, 1):
        snippet = " ".join(text_of[hit.name].split())
        snippet = snippet if len(snippet) <= 80 else snippet[:77] + "..."
        print(f"{rank:3d}  {hit.score:8.4f}  {hit.name}  {snippet}")


def cmd_dups(args: argparse.Namespace) -> None:
    from seqlab.text.tools.dups import find_duplicates
    from seqlab.text.tools.files import read_documents

    documents = read_documents(args.path)
    pairs = find_duplicates(documents, threshold=args.threshold, k=args.shingle, num_perm=args.num_perm)
    if not pairs:
        print(f"no pair of the {len(documents)} documents has Jaccard >= {args.threshold:g}")
    for pair in pairs:
        print(f"{pair.a}  {pair.b}  jaccard {pair.jaccard:.3f} (minhash {pair.minhash:.3f})  "
              f"cosine {pair.cosine:.3f}")


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register the `text` command group; each leaf parser sets `handler=fn(args)`."""
    group = subparsers.add_parser("text", help="text tools: statistics, language, search, duplicates",
                                  description="Classic text tools: statistics, language identification, "
                                  "ranked search and near-duplicate detection.")
    sub = group.add_subparsers(dest="text_command", metavar="SUBCOMMAND")

    p = sub.add_parser("stats", help="characters, words, sentences, paragraphs, proper names",
                       description="Count characters, words, sentences, paragraphs and proper names (capitalised "
                       "words inside sentences) of a UTF-8 text file, with the most frequent words and names.")
    p.add_argument("file")
    p.add_argument("--top", type=_count, default=10, help="how many frequent words and names to list (0: all)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_stats)

    p = sub.add_parser("lang", help="identify the language (en/de/fr) of texts",
                       description="Character n-gram naive Bayes trained on Multi30k (trained on first use, "
                       "then cached as JSON in $SEQLAB_CACHE or ~/.cache/seqlab). Prints the language and the "
                       "probability of each, or 'unknown' with the reason when the text has no letters or too "
                       "many of its words are new to the closest language (a binomial test at p < 0.001).")
    p.add_argument("text", nargs="*", help="texts (else one per line on standard input)")
    p.add_argument("--data-dir", help="dataset directory (else $SEQLAB_DATA_DIR, else the download cache)")
    p.add_argument("--retrain", action="store_true", help="train again even if a cached model exists")
    p.add_argument("--eval", action="store_true", help="print accuracy and confusion matrix on Multi30k test")
    p.set_defaults(handler=cmd_lang)

    p = sub.add_parser("search", help="rank documents for a query (BM25, TF-IDF cosine or sentence embeddings)",
                       description="Rank documents for a query with an inverted index. PATH is a directory of "
                       ".txt files (one document each) or a file with one document per line.")
    p.add_argument("path")
    p.add_argument("query")
    p.add_argument("--method", choices=["bm25", "tfidf"], default="bm25", help="ranking (default: bm25)")
    p.add_argument("--semantic", action="store_true",
                   help="rank by the cosine of sentence embeddings (all-MiniLM-L6-v2; long documents by their best "
                   "passage) instead of shared words; needs: pip install 'seqlab[pretrained]'")
    p.add_argument("-k", type=_positive_int, default=10, help="how many documents to list (default: 10)")
    p.add_argument("--k1", type=_k1, default=1.5,
                   help=f"BM25 term-frequency saturation, 0..{MAX_K1:g} (default: 1.5)")
    p.add_argument("--b", type=_b, default=0.75, help="BM25 length normalisation, 0..1 (default: 0.75)")
    p.set_defaults(handler=cmd_search)

    p = sub.add_parser("dups", help="near-duplicate documents (shingles, MinHash, LSH)",
                       description="Find pairs of near-duplicate documents: word k-shingles, MinHash signatures "
                       "and LSH banding find candidates, the exact shingle Jaccard decides. PATH is a directory "
                       "of .txt files or a file with one document per line.")
    p.add_argument("path")
    p.add_argument("--threshold", type=_similarity, default=0.8, help="minimum Jaccard similarity (default: 0.8)")
    p.add_argument("--shingle", type=_positive_int, default=3, help="words per shingle (default: 3)")
    p.add_argument("--num-perm", type=_num_perm, default=128,
                   help=f"MinHash signature length, 1..{MAX_NUM_PERM} (default: 128)")
    p.set_defaults(handler=cmd_dups)
