"""BERT pre-training from scratch on any text corpus: masked language modelling + next-sentence prediction.

    seqlab train configs/wikitext2_bert.yaml --data-dir ../shared/data --out runs/wikitext2_bert
    seqlab predict runs/wikitext2_bert "the man went to the [MASK] store ."

The corpus is a seqlab.data text dataset (WikiText-2: articles split at their " = Title = " lines) or plain text
files in BERT's format (one sentence per line, a blank line between documents). WordPiece is trained on the train
split (or read from a vocab.txt / tokenizer.json), the sentence pairs are built once (seqlab.data.pretraining), and
the masks are drawn afresh for every batch. The dev and test scores read fixed pairs with fixed masks: MLM accuracy
(the original piece ranked first at the selected positions), MLM loss and perplexity, NSP accuracy.

The run writes, besides the usual files, ``hf/``: the model as Hugging Face's ``BertForPreTraining`` with its
tokenizer, so ``bert.pretrained: runs/wikitext2_bert/hf`` fine-tunes it in the classify and tag recipes.
"""

from __future__ import annotations

import math
import random
import warnings
from pathlib import Path

import torch

from seqlab.data.collate import EpochSeeded
from seqlab.data.pretraining import (
    PairCollator,
    PairExample,
    dynamic_masking,
    make_pairs,
    wikitext_documents,
)
from seqlab.errors import SeqlabError
from seqlab.io import atomic_write_text, write_json
from seqlab.models.bert import BertForPreTraining
from seqlab.report import ReportParts
from seqlab.tasks.common import (
    begin_run,
    bucketed_loader,
    fit_run,
    load_split,
    move,
    read_run_json,
    write_metrics,
)
from seqlab.tasks.config import MLMData
from seqlab.tasks.config import MLMRunConfig as RunConfig
from seqlab.tasks.rundir import read_run_text
from seqlab.training import load_weights

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


# ---- the corpus ------------------------------------------------------------------------------------------------


def read_documents(data: MLMData, split: str, data_dir: str | Path | None) -> list[list[str]]:
    """Documents as lists of sentences."""
    path = {"train": data.train_file, "validation": data.validation_file, "test": data.test_file}[split]
    if data.train_file:
        if not path:
            raise SeqlabError(f"no data.{split}_file given")
        return text_file_documents(Path(path))
    return wikitext_documents(t.text for t in load_split(data.dataset, split, data_dir))


def text_file_documents(path: Path) -> list[list[str]]:
    """BERT's input format: one sentence per line, documents separated by blank lines."""
    from seqlab.data.formats import read_lines

    documents: list[list[str]] = [[]]
    for line in read_lines(path):
        if line.strip():
            documents[-1].append(line.strip())
        elif documents[-1]:
            documents.append([])
    documents = [d for d in documents if d]
    if not documents:
        raise SeqlabError(f"{path}: no text")
    return documents


def build_tokenizer(data: MLMData, documents: list[list[str]]):
    from seqlab.text.subword import load_tokenizer, train_wordpiece, wordpiece_from_vocab

    if data.vocab.endswith(".txt"):
        return wordpiece_from_vocab(data.vocab, lowercase=data.lowercase)
    if data.vocab:
        return load_tokenizer(data.vocab)
    return train_wordpiece((s for d in documents for s in d), data.vocab_size, lowercase=data.lowercase)


class PairBuilder:
    """Documents -> sentence pairs of piece ids, with the tokenizer's special ids."""

    def __init__(self, tokenizer, data: MLMData):
        self.tokenizer, self.data = tokenizer, data
        ids = {s: tokenizer.token_to_id(s) for s in SPECIALS}
        missing = [s for s, i in ids.items() if i is None]
        if missing:
            raise SeqlabError(f"the tokenizer lacks BERT's special pieces {', '.join(missing)}")
        self.pad_id, self.unk_id, self.cls_id, self.sep_id, self.mask_id = ids.values()
        self.collate = PairCollator(self.pad_id, (self.pad_id, self.unk_id, self.cls_id, self.sep_id, self.mask_id))

    def pairs(self, documents: list[list[str]], seed: int) -> list[PairExample]:
        flat = [s for d in documents for s in d]
        encoded = iter(e.ids for e in self.tokenizer.encode_batch(flat, add_special_tokens=False))
        pieces = [[next(encoded) for _ in d] for d in documents]
        return make_pairs(pieces, self.data.max_pieces, cls_id=self.cls_id, sep_id=self.sep_id,
                          rng=random.Random(seed), nsp=self.data.nsp, short_seq_prob=self.data.short_seq_prob)

    def masking(self):
        return dynamic_masking(mask_id=self.mask_id, vocab_size=self.tokenizer.get_vocab_size(),
                               probability=self.data.mlm_probability)


# ---- scoring -----------------------------------------------------------------------------------------------------


@torch.no_grad()
def score(model: BertForPreTraining, builder: PairBuilder, pairs: list[PairExample], seed: int, *,
          batch_size: int = 64) -> dict:
    """MLM accuracy, loss and perplexity at the selected positions, NSP accuracy: fixed masks (``seed``)."""
    model.eval()
    device = next(model.parameters()).device
    masking, generator = builder.masking(), torch.Generator().manual_seed(seed)
    correct = total = nsp_correct = 0
    loss_sum = 0.0
    for start in range(0, len(pairs), batch_size):
        batch = move(masking(builder.collate(pairs[start : start + batch_size]), generator), device)
        out = model.bert(batch["ids"], batch["mask"], batch["segments"])
        selected = batch["mlm_labels"] != -100
        logits = model.mlm(out.hidden[selected], model.bert.embeddings.word.weight).float()  # (N, V)
        targets = batch["mlm_labels"][selected]
        loss_sum += float(torch.nn.functional.cross_entropy(logits, targets, reduction="sum"))
        correct += int((logits.argmax(-1) == targets).sum())
        total += int(selected.sum())
        if model.nsp is not None:
            nsp_correct += int((model.nsp(out.pooled).argmax(-1) == batch["nsp_labels"]).sum())
    scores = {"mlm_accuracy": correct / max(total, 1), "mlm_loss": loss_sum / max(total, 1),
              "n_pairs": len(pairs), "n_masked": total}
    scores["mlm_perplexity"] = math.exp(min(scores["mlm_loss"], 50.0))
    if model.nsp is not None:
        scores["nsp_accuracy"] = nsp_correct / len(pairs)
    return scores


# ---- the trained model: fill in the blanks ------------------------------------------------------------------------


class MaskFiller:
    """A pre-trained BERT with its tokenizer; ``fill("the man went to the [MASK] store .")`` -> for each [MASK],
    the k most probable pieces with their probabilities."""

    def __init__(self, model: BertForPreTraining, tokenizer, config: RunConfig):
        self.model, self.tokenizer, self.config = model.eval(), tokenizer, config
        self.mask_id = tokenizer.token_to_id("[MASK]")

    @torch.no_grad()
    def fill(self, text: str, k: int = 5) -> list[list[tuple[str, float]]]:
        if not text.strip():
            raise SeqlabError("the text is empty: give a sentence with [MASK] in it")
        ids = self.tokenizer.encode(text).ids
        limit = self.config.model.max_positions
        if len(ids) > limit:
            warnings.warn(f"the text has {len(ids)} pieces; the model reads the first {limit}", stacklevel=2)
            ids = ids[:limit]
        where = [i for i, piece in enumerate(ids) if piece == self.mask_id]
        if not where:
            raise SeqlabError(f"no [MASK] in {text!r}: write [MASK] where a word should be guessed")
        device = next(self.model.parameters()).device
        tensor = torch.tensor([ids], device=device)
        logits, _ = self.model(tensor, torch.ones_like(tensor))  # (1, T, V)
        proba = torch.softmax(logits[0, where].float(), -1)  # (M, V)
        top = proba.topk(k, dim=-1)
        return [[(self.tokenizer.id_to_token(int(i)), float(p)) for p, i in zip(ps, ix, strict=True)]
                for ps, ix in zip(top.values, top.indices, strict=True)]

    def fill_mask(self, texts: list[str], k: int = 5) -> list[str]:
        """One line per text: each [MASK]'s candidates as "piece 12.3%"."""
        return [" | ".join("  ".join(f"{piece} {100 * p:.1f}%" for piece, p in candidates)
                           for candidates in self.fill(text, k)) for text in texts]


# ---- training ------------------------------------------------------------------------------------------------------


def train(cfg: RunConfig, out_dir: str | Path, *, progress: bool = True, data_dir: str | Path | None = None,
          resume: bool = False) -> dict:
    """Pre-train BERT, score it on the test split and write the run directory (with an HF export in hf/)."""
    started, cfg, out_dir = begin_run(cfg, out_dir)
    documents = read_documents(cfg.data, "train", data_dir)
    tokenizer = build_tokenizer(cfg.data, documents)
    cfg.model.vocab_size = tokenizer.get_vocab_size()
    builder = PairBuilder(tokenizer, cfg.data)
    train_pairs = builder.pairs(documents, cfg.data.pair_seed)
    dev_pairs = builder.pairs(read_documents(cfg.data, "validation", data_dir), cfg.data.pair_seed)
    dev_pairs = random.Random(cfg.data.pair_seed).sample(dev_pairs, min(cfg.data.eval_pairs, len(dev_pairs)))
    model = BertForPreTraining.from_config(cfg.model, nsp=cfg.data.nsp)
    loader = bucketed_loader(train_pairs, builder.collate, [len(p.ids) for p in train_pairs], cfg.train.batch_size,
                             cfg.train.seed)
    batches = EpochSeeded(loader, builder.masking(), cfg.train.seed)
    metrics = [m for m in ("mlm_accuracy", "nsp_accuracy", "mlm_loss") if cfg.data.nsp or m != "nsp_accuracy"]

    def evaluate_dev(m: BertForPreTraining) -> dict:
        scores = score(m, builder, dev_pairs, cfg.data.pair_seed)
        return {k: scores[k] for k in metrics}

    facts = fit_run(cfg, model, batches, out_dir, started, evaluate_dev=evaluate_dev,
                    save_vocab=lambda d: _save_tokenizer(tokenizer, d),
                    count_tokens=lambda b: int(b["mask"].sum()), progress=progress, resume=resume)
    if facts is None:
        return {}
    export_hf(model, tokenizer, out_dir / "hf")
    split = "test" if cfg.data.test_file or not cfg.data.train_file else "validation"
    results, _ = evaluate(out_dir, split=split, data_dir=data_dir)
    return write_metrics(out_dir, results, facts, started, n_train_pairs=len(train_pairs))


def _save_tokenizer(tokenizer, out_dir: Path) -> None:
    atomic_write_text(out_dir / "tokenizer.json", tokenizer.to_str())
    write_json(out_dir / "vocab.json", {"type": "wordpiece", "tokenizer": "tokenizer.json"})


def export_hf(model: BertForPreTraining, tokenizer, directory: Path) -> None:
    """The model as BertForPreTraining and its tokenizer (tokenizer.json, vocab.txt) in one HF directory."""
    model.save_hf(directory)
    atomic_write_text(directory / "tokenizer.json", tokenizer.to_str())
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])
    atomic_write_text(directory / "vocab.txt", "".join(f"{piece}\n" for piece, _ in vocab))


def load_predictor(run_dir: Path, cfg: RunConfig, *, device: str = "cpu") -> MaskFiller:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_str(read_run_text(run_dir, read_run_json(run_dir, "vocab.json")["tokenizer"]))
    model = BertForPreTraining.from_config(cfg.model, nsp=cfg.data.nsp)
    load_weights(model, run_dir / "model.safetensors")
    return MaskFiller(model.to(device), tokenizer, cfg)


def evaluate(run_dir: str | Path, *, split: str = "test", data_dir: str | Path | None = None, beam_size: int = 1,
             out_dir: str | Path | None = None) -> tuple[dict, ReportParts]:
    """MLM accuracy/loss/perplexity and NSP accuracy on every pair of ``split`` (fixed masks), and the lecture's
    fill-in-the-blank examples."""
    from seqlab.tasks import load_run

    run_dir = Path(run_dir)
    filler: MaskFiller = load_run(run_dir)
    cfg = filler.config
    builder = PairBuilder(filler.tokenizer, cfg.data)
    pairs = builder.pairs(read_documents(cfg.data, split, data_dir), cfg.data.pair_seed)
    metrics = {"split": split, "dataset": cfg.data.train_file or cfg.data.dataset,
               **score(filler.model, builder, pairs, cfg.data.pair_seed)}
    examples = [{"text": text, "top 5": line} for text, line in
                zip(FILL_EXAMPLES, filler.fill_mask(FILL_EXAMPLES), strict=True)]
    metrics["fill_examples"] = {e["text"]: e["top 5"] for e in examples}
    parts = ReportParts(title=f"{metrics['dataset']} {split}: BERT pre-training ({len(pairs)} pairs)",
                        examples=examples, examples_title="Fill in the blank")
    if (run_dir / "history.json").is_file() and (out_dir is None or Path(out_dir) == run_dir):
        parts.plots["Learning curve (training run)"] = "learning_curve.png"
    return metrics, parts


# the lectures' and the BERT paper's examples
FILL_EXAMPLES = ["the man went to the [MASK] store .", "he bought a gallon [MASK] milk .",
                 "the river [MASK] was flooded after the storm .", "paris is the capital of [MASK] ."]
