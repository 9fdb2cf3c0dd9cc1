"""`seqlab vectors ...`: judge, query, picture and convert word vectors (a vectors file or a word2vec run)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from seqlab.errors import SeqlabError


def _vectors(path: str, limit: int | None = None):
    from seqlab.text.vectors import load_vectors

    p = Path(path)
    if p.is_dir():
        if not (p / "vectors.bin").is_file():
            raise SeqlabError(f"{p}: not a word2vec run (no vectors.bin)")
        p = p / "vectors.bin"
    return load_vectors(p, limit=limit)


def cmd_eval(args: argparse.Namespace) -> None:
    from seqlab.data import load
    from seqlab.data.datasets import read_analogies
    from seqlab.report import text_table
    from seqlab.text.vectors import evaluate_analogies, evaluate_pairs

    vectors = _vectors(args.path)
    questions = read_analogies(args.analogies) if args.analogies else load("google-analogy", "test",
                                                                            data_dir=args.data_dir)
    results = {m: evaluate_analogies(vectors, questions, restrict=args.restrict, method=m) for m in ("add", "mul")}
    pairs = {name: evaluate_pairs(vectors, load(name, "test", data_dir=args.data_dir))
             for name in ("wordsim353", "simlex999")}
    if args.json:
        print(json.dumps({"analogies": results, "pairs": pairs}, indent=2))
        return
    n = results["add"]
    print(f"{args.path}: {len(vectors):,} words, {vectors.dim} dimensions; analogies over the {args.restrict:,} "
          f"most frequent words ({n['questions']:,} questions, {n['skipped']:,} skipped: a word outside them)")
    rows = [{"set": f"analogies 3Cos{m.capitalize()}", "all": r["accuracy"], "semantic": r["semantic"],
             "syntactic": r["syntactic"]} for m, r in results.items()]
    print(text_table(rows))
    print(text_table([{"set": name, "Spearman": r["spearman"], "Pearson": r["pearson"], "pairs": r["pairs"],
                       "skipped": r["skipped"]} for name, r in pairs.items()]))


def cmd_neighbours(args: argparse.Namespace) -> None:
    from seqlab.tasks.config import Word2VecRunConfig
    from seqlab.tasks.word2vec import WordVectorModel

    model = WordVectorModel(_vectors(args.path), Word2VecRunConfig())
    for query in args.query:
        print(f"{query}\t{model.nearest([query])[0]}")


def _corpus(path: str | None, data_dir: str | None, word: str) -> list[list[str]]:
    """Sentences holding ``word``: a file's lines (tokenised), else WikiText-2 train cut at its " . " ends."""
    from seqlab.text import word_tokenize

    if path:
        from seqlab.io import read_line_batches

        lines = (line for batch in read_line_batches(path) for _, line in batch)
        return [t for t in map(word_tokenize, lines) if word in t]
    from seqlab.data import load

    out = []
    for example in load("wikitext-2", "train", data_dir=data_dir):
        for sentence in example.text.split(" . "):
            tokens = sentence.split()
            if word in tokens:
                out.append([*tokens, "."])
    return out


def _around(tokens: list[str], word: str, width: int = 12) -> str:
    i = tokens.index(word)
    left, right = tokens[max(0, i - width) : i], tokens[i + 1 : i + 1 + width]
    return " ".join([*(["..."] if i > width else []), *left, f"[{word}]", *right,
                     *(["..."] if i + 1 + width < len(tokens) else [])])


def cmd_contexts(args: argparse.Namespace) -> None:
    """The lecture's "stick": a static vector is one point per word; the biLM's vector moves with the sentence."""
    from seqlab.models.elmo import load_bilm, nearest_contexts
    from seqlab.text import word_tokenize

    if args.static:
        model_vectors = _vectors(args.static)
        if args.word not in model_vectors:
            raise SeqlabError(f"{args.static} has no vector for {args.word!r}")
        from seqlab.text.vectors import neighbours

        near = neighbours(model_vectors, [args.word], topn=args.k)[args.word]
        print(f"static vector ({args.static}): the nearest words to {args.word!r}, the same in every sentence:\n  "
              + ", ".join(f"{w} {score:.2f}" for w, score in near))
    if args.k < 1 or args.max_sentences < 1:
        raise SeqlabError(f"-k and --max-sentences must be at least 1, got {args.k} and {args.max_sentences}")
    queries = [word_tokenize(sentence) for sentence in args.sentence]
    for sentence, query in zip(args.sentence, queries, strict=True):
        if args.word not in query:
            raise SeqlabError(f"{args.word!r} is not a word of {sentence!r} (words: {' '.join(query)})")
    bilm = load_bilm(args.run)
    n_layers = bilm.config.num_layers + 1
    if not -n_layers <= args.layer < n_layers:
        raise SeqlabError(f"--layer must lie in 0..{n_layers - 1} (or -1 for the top), got {args.layer}")
    corpus = _corpus(args.corpus, args.data_dir, args.word)[: args.max_sentences]
    if not corpus:
        raise SeqlabError(f"no sentence of the corpus holds {args.word!r}")
    layer = "the token layer" if args.layer == 0 else f"biLM layer {args.layer % (bilm.config.num_layers + 1)}"
    for sentence, query in zip(args.sentence, queries, strict=True):
        print(f"\n{sentence!r}: the {len(corpus):,} corpus sentences' {args.word!r} nearest to this one ({layer}, "
              f"cosine):")
        for score, tokens in nearest_contexts(bilm, args.word, query, corpus, k=args.k, layer=args.layer):
            print(f"  {score:.3f}  {_around(tokens, args.word)}")


def cmd_bias(args: argparse.Namespace) -> None:
    from seqlab.text.vectors import OCCUPATIONS, WEAT_CAREER_FAMILY, gender_projection, weat
    from seqlab.viz.vectors import plot_projection

    vectors = _vectors(args.path)
    test = weat(vectors, **WEAT_CAREER_FAMILY)
    print(f"WEAT career/family vs male/female names (Caliskan et al. 2017): effect size {test['effect_size']:.3f}, "
          f"p = {test['p_value']:.4f} ({test['partitions']:,} partitions)")
    projection = gender_projection(vectors, OCCUPATIONS)
    print("occupations on he - she (negative: nearer 'she'):")
    for word, value in projection:
        print(f"  {word:<14} {value:+.3f}")
    if args.plot:
        plot_projection(projection, args.plot)
        print(f"wrote {args.plot}")


def cmd_plot(args: argparse.Namespace) -> None:
    from seqlab.viz.vectors import plot_word_groups

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    vectors = _vectors(args.path)
    for method in args.method:
        path = out / f"word_groups_{method}.png"
        if plot_word_groups(vectors, path, method=method) is None:
            raise SeqlabError(f"{args.path}: too few of the lecture's group words are in the vocabulary to plot")
        print(f"wrote {path}")


def cmd_convert(args: argparse.Namespace) -> None:
    vectors = _vectors(args.source, args.limit)
    vectors.save(args.target, args.to)
    print(f"wrote {len(vectors):,} vectors of {vectors.dim} dimensions to {args.target} ({args.to})")


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    from seqlab.text.vectors import FORMATS

    group = subparsers.add_parser("vectors", help="word vectors: evaluate, neighbours, bias, plots, convert",
                                  description="Word vectors from a file (word2vec text or binary, GloVe text) or a "
                                  "word2vec run directory.")
    sub = group.add_subparsers(dest="vectors_command", metavar="SUBCOMMAND")

    p = sub.add_parser("eval", help="Google analogies (3CosAdd, 3CosMul), WordSim-353 and SimLex-999 Spearman")
    p.add_argument("path", help="a vectors file or a word2vec run directory")
    p.add_argument("--analogies", help="your own analogy file in the Google format (default: the Google set)")
    p.add_argument("--restrict", type=int, default=30000, help="analogies search the most frequent N words")
    p.add_argument("--data-dir", help="dataset directory (else $SEQLAB_DATA_DIR, else the download cache)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_eval)

    p = sub.add_parser("neighbours", help="the nearest words to a word, or to 'king - man + woman'")
    p.add_argument("path")
    p.add_argument("query", nargs="+")
    p.set_defaults(handler=cmd_neighbours)

    p = sub.add_parser("contexts", help="ELMo vs a static vector: a word's nearest contexts in each sentence",
                       description="For WORD in each SENTENCE, the corpus sentences whose biLM vector for that word "
                       "is closest (Peters et al. 2018, Table 4), beside the static vector's nearest words (--static), "
                       "which are the same whatever the sentence.")
    p.add_argument("run", help="a trained biLM run (configs/wikitext2_elmo.yaml)")
    p.add_argument("word")
    p.add_argument("sentence", nargs="+", help="sentences that use the word (tokenised as seqlab tokenises)")
    p.add_argument("--static", help="a vectors file or word2vec run to show the static neighbours of")
    p.add_argument("--corpus", help="a text file, one sentence per line (default: WikiText-2 train)")
    p.add_argument("--data-dir", help="dataset directory (else $SEQLAB_DATA_DIR, else the download cache)")
    p.add_argument("-k", type=int, default=5, help="how many neighbours (default: 5)")
    p.add_argument("--layer", type=int, default=-1, help="the biLM layer: 0 token layer .. L; -1 the top (default)")
    p.add_argument("--max-sentences", type=int, default=2000, help="corpus sentences read at most (default: 2000)")
    p.set_defaults(handler=cmd_contexts)

    p = sub.add_parser("bias", help="WEAT career/family vs male/female names; occupations on he - she")
    p.add_argument("path")
    p.add_argument("--plot", help="write the projection as a bar chart (PNG) here")
    p.set_defaults(handler=cmd_bias)

    p = sub.add_parser("plot", help="the lecture's word groups in 2-D (PCA, t-SNE)")
    p.add_argument("path")
    p.add_argument("--out", default=".", help="directory for word_groups_{pca,tsne}.png")
    p.add_argument("--method", nargs="+", choices=["pca", "tsne"], default=["pca", "tsne"])
    p.set_defaults(handler=cmd_plot)

    p = sub.add_parser("convert", help="rewrite vectors in another format")
    p.add_argument("source")
    p.add_argument("target")
    p.add_argument("--to", choices=FORMATS, default="word2vec", help="the format to write (default: word2vec text)")
    p.add_argument("--limit", type=int, help="keep the first N vectors (the most frequent words)")
    p.set_defaults(handler=cmd_convert)
