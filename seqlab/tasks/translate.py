"""Machine translation on Multi30k (German <-> English): recurrent encoder-decoders and the Transformer.

One recipe, two model families, picked by ``model_type``:

- ``rnn``: seqlab.models.seq2seq (no attention, Bahdanau, or Luong dot/general with input feeding);
- ``transformer``: seqlab.models.transformer ("Attention is all you need").

Vocabularies (``data.vocab``): ``bpe`` learns one byte-pair vocabulary on both languages (shared by source and
target, so the embeddings can be tied); ``word`` keeps a word vocabulary per language. Both tokenisers are
reversible, so the outputs are plain text and BLEU is sacrebleu's on detokenised text (13a tokenisation,
case-sensitive). Every run writes config.json, vocab.json (the tokenisers), model.safetensors, metrics.json
(test BLEU and chrF, greedy and beam), the learning curve and the source-target attention of one sentence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from seqlab.data.collate import Seq2SeqCollator
from seqlab.errors import SeqlabError
from seqlab.io import write_json
from seqlab.metrics import corpus_bleu, corpus_chrf
from seqlab.models.seq2seq import RNNSeq2Seq
from seqlab.models.transformer import Transformer
from seqlab.report import ReportParts
from seqlab.tasks.common import begin_run, bucketed_loader, fit_run, load_split, read_run_json, write_metrics
from seqlab.tasks.config import EXAMPLES, LANGUAGES, VOCABS, TranslateData, default_transformer  # noqa: F401
from seqlab.tasks.config import TranslateRunConfig as RunConfig
from seqlab.tasks.seq2seq_predictor import Seq2SeqPredictor
from seqlab.text.subword import SubwordVocab, train_reversible
from seqlab.training import load_weights

# model_type -> the encoder-decoder family (each has from_config, loss, encode/decode and the decoding steps)
MODELS: dict[str, type] = {"transformer": Transformer, "rnn": RNNSeq2Seq}
# -- vocabularies ----------------------------------------------------------------------------------------


@dataclass
class Vocabularies:
    source: SubwordVocab
    target: SubwordVocab  # the same object when shared

    @property
    def shared(self) -> bool:
        return self.source is self.target

    @classmethod
    def build(cls, pairs: list[tuple[str, str]], cfg: TranslateData) -> Vocabularies:
        options = dict(model=cfg.vocab, min_frequency=cfg.min_freq, lowercase=cfg.lowercase)
        if cfg.vocab == "bpe":
            joint = SubwordVocab(train_reversible([s for pair in pairs for s in pair], cfg.vocab_size, **options))
            return cls(joint, joint)
        return cls(SubwordVocab(train_reversible([s for s, _ in pairs], cfg.vocab_size, **options)),
                   SubwordVocab(train_reversible([t for _, t in pairs], cfg.vocab_size, **options)))

    def to_dict(self) -> dict:
        return {"type": "translation", "shared": self.shared, "source": self.source.to_dict(),
                "target": None if self.shared else self.target.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> Vocabularies:
        source = SubwordVocab.from_dict(data["source"])
        return cls(source, source if data["shared"] else SubwordVocab.from_dict(data["target"]))


def read_pairs(cfg: TranslateData, split: str, data_dir: str | Path | None) -> list[tuple[str, str]]:
    examples = load_split(cfg.dataset, split, data_dir, langs=f"{cfg.source},{cfg.target}")
    return [(ex.texts[cfg.source], ex.texts[cfg.target]) for ex in examples]


def build_model(cfg: RunConfig, vocabs: Vocabularies) -> Transformer | RNNSeq2Seq:
    """Fill the vocabulary sizes and special ids into the model config, then build the model."""
    model_cfg = cfg.model
    model_cfg.src_vocab_size, model_cfg.tgt_vocab_size = len(vocabs.source), len(vocabs.target)
    model_cfg.pad_id, model_cfg.bos_id, model_cfg.eos_id = vocabs.target.pad_id, vocabs.target.bos_id, \
        vocabs.target.eos_id
    if not vocabs.shared:
        model_cfg.share_embeddings = False  # two vocabularies: two embeddings
    if model_cfg.max_len <= max(cfg.data.max_tokens, cfg.data.max_output_tokens):
        raise SeqlabError(f"{cfg.model_type}.max_len={model_cfg.max_len} must exceed data.max_tokens and "
                          "data.max_output_tokens")
    return _model_class(cfg).from_config(model_cfg)


def _model_class(cfg: RunConfig):
    return MODELS[cfg.model_type]


def training_batches(cfg: RunConfig, vocabs: Vocabularies, pairs: list[tuple[str, str]]):
    """Length-bucketed batches of (source ids, <bos> target ids <eos>), cut to the model's limits."""
    limit, target = cfg.data.max_tokens, vocabs.target
    items = [(vocabs.source.encode(s)[:limit], target.encode(t)[:limit]) for s, t in pairs]
    items = [item for item in items if item[0] and item[1]]
    collate = Seq2SeqCollator(target.pad_id, target.bos_id, target.eos_id)
    return bucketed_loader(items, collate, [len(s) for s, _ in items], cfg.train.batch_size, cfg.train.seed)


def make_translator(model, vocabs: Vocabularies, cfg: RunConfig) -> Seq2SeqPredictor:
    return Seq2SeqPredictor(model, vocabs.source, target_vocab=vocabs.target, config=cfg,
                            max_output_len=cfg.data.max_output_tokens, max_source_len=cfg.data.max_tokens,
                            truncate=True)


# -- training and evaluation -------------------------------------------------------------------------------


def train(cfg: RunConfig, out_dir: str | Path, *, progress: bool = True, data_dir: str | Path | None = None,
          resume: bool = False) -> dict:
    """Train on Multi30k train (early stopping on validation BLEU), score test2016 and write the run."""
    started, cfg, out_dir = begin_run(cfg, out_dir)
    train_pairs = read_pairs(cfg.data, "train", data_dir)
    dev_pairs = read_pairs(cfg.data, "validation", data_dir)
    vocabs = Vocabularies.build(train_pairs, cfg.data)
    model = build_model(cfg, vocabs)
    translator = make_translator(model, vocabs, cfg)
    pad = vocabs.target.pad_id
    dev_sources, dev_references = [s for s, _ in dev_pairs], [t for _, t in dev_pairs]

    def evaluate_dev(m) -> dict:
        return {"bleu": corpus_bleu(translator.translate(dev_sources), dev_references)}

    facts = fit_run(cfg, model, training_batches(cfg, vocabs, train_pairs), out_dir, started,
                    evaluate_dev=evaluate_dev, save_vocab=lambda d: write_json(d / "vocab.json", vocabs.to_dict()),
                    count_tokens=lambda b: int((b["src"] != pad).sum() + (b["tgt"] != pad).sum()),
                    progress=progress, resume=resume)
    if facts is None:
        return {}
    metrics, _ = evaluate(out_dir, split=cfg.data.test_split, data_dir=data_dir, beam_size=cfg.data.eval_beam)
    return write_metrics(out_dir, metrics, facts, started)


def load_predictor(run_dir: Path, cfg: RunConfig, *, device: str = "cpu") -> Seq2SeqPredictor:
    vocabs = Vocabularies.from_dict(read_run_json(run_dir, "vocab.json"))
    model = _model_class(cfg).from_config(cfg.model)
    load_weights(model, run_dir / "model.safetensors")
    return make_translator(model.to(device).eval(), vocabs, cfg)


def evaluate(run_dir: str | Path, *, split: str = "test", data_dir: str | Path | None = None, beam_size: int = 1,
             out_dir: str | Path | None = None) -> tuple[dict, ReportParts]:
    """BLEU and chrF (sacrebleu's, detokenised, case-sensitive) on a split, greedy and with ``beam_size``;
    the alignment plots of the example sentence."""
    from seqlab.tasks import load_run

    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir is not None else run_dir
    translator: Seq2SeqPredictor = load_run(run_dir)
    cfg: RunConfig = translator.config
    pairs = read_pairs(cfg.data, split, data_dir)
    sources, references = [s for s, _ in pairs], [t for _, t in pairs]
    metrics = {"split": split, "dataset": cfg.data.dataset, "direction": f"{cfg.data.source}-{cfg.data.target}",
               "model_type": cfg.model_type, "n_sentences": len(pairs), "beam_size": beam_size}
    start = time.perf_counter()
    greedy = translator.translate(sources)
    metrics |= {"bleu_greedy": corpus_bleu(greedy, references), "chrf_greedy": corpus_chrf(greedy, references),
                "greedy_sentences_per_s": round(len(sources) / (time.perf_counter() - start), 1)}
    outputs = greedy
    if beam_size > 1:
        start = time.perf_counter()
        outputs = translator.translate(sources, beam_size=beam_size, alpha=cfg.data.alpha)
        metrics[f"beam{beam_size}_sentences_per_s"] = round(len(sources) / (time.perf_counter() - start), 1)
    metrics |= {"bleu": corpus_bleu(outputs, references), "chrf": corpus_chrf(outputs, references)}
    decoding = "greedy decoding" if beam_size == 1 else f"beam search (beam {beam_size}, alpha {cfg.data.alpha})"
    title = (f"Multi30k {split} {cfg.data.source}->{cfg.data.target}, {cfg.model_type}: {len(pairs)} sentences, "
             f"{decoding}")
    examples = [{"source": s, "reference": r, "translation": y}
                for s, r, y in zip(sources[:8], references[:8], outputs[:8], strict=True)]
    parts = ReportParts(title=title, examples=examples, examples_title=f"First {split} sentences")
    parts.notes.append("BLEU and chrF: sacrebleu's corpus scores on detokenised, case-sensitive text "
                       "(13a tokenisation, chrF n=6); 'bleu' is the beam search's when beam_size > 1.")
    parts.plots |= write_attention_plots(translator, out_dir)
    if (run_dir / "history.json").is_file() and out_dir == run_dir:
        parts.plots["Learning curve (training run)"] = "learning_curve.png"
    return metrics, parts


def write_attention_plots(translator: Seq2SeqPredictor, out_dir: Path) -> dict[str, str]:
    """attention.png (last decoder layer, averaged over heads) and, for the Transformer, attention_heads.png."""
    from seqlab.viz import plot_attention, plot_attention_heads

    cfg: RunConfig = translator.config
    if cfg.model_type == "rnn" and cfg.rnn.attention == "none":
        return {}
    sentence = cfg.data.example
    src, out, weights = translator.attention(sentence, heads=True)  # (H, T, S)
    plot_attention(weights.mean(0), src, out, out_dir / "attention.png",
                   title=f"Source-target attention ({cfg.model_type}), {sentence!r}")
    plots = {"Source-target attention of the example sentence": "attention.png"}
    if weights.shape[0] > 1:
        plot_attention_heads(weights, src, out, out_dir / "attention_heads.png",
                             title=f"Last decoder layer, per head: {sentence!r}")
        plots["Source-target attention per head (last decoder layer)"] = "attention_heads.png"
    return plots
