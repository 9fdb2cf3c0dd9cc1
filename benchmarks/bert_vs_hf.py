"""Our BERT vs the references with the same weights (all-MiniLM-L6-v2, the real pretrained model):

- sentence embeddings/s: our ``SentenceEncoder.encode`` vs sentence-transformers' ``SentenceTransformer.encode``
  on 10,000 real sentences (Multi30k train captions), batch 64; both sort by length, tokenize, run the encoder,
  mean-pool and L2-normalise;
- fine-tuning examples/s: our ``BertClassifier`` vs Hugging Face's ``BertForSequenceClassification`` on SST-2
  training sentences, batch 32, the same batches (WordPiece with [CLS]/[SEP], padded to the batch's longest),
  the same AdamW loop (forward, cross-entropy, backward, step); dropout 0 so both compute the same function.
  Ours runs a padded batch packed (``seqlab.nn.packing``: the layers skip the padding, about half of these
  batches); HF computes every padded position.

Before timing, the run checks that both compute the same thing: every embedding's cosine with the reference's
>= 0.99999, and for fine-tuning the logits, loss and every gradient equal (fp32). The rounds are interleaved
(ours, reference, ours, ...) and each side keeps its best, so background load hits both alike.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from common import DATA_DIR, check, check_close


def sentences(n: int) -> list[str]:
    lines = (DATA_DIR / "multi30k" / "train.en").read_text(encoding="utf-8").splitlines()
    return lines[:n]


def sst2_texts(n: int) -> tuple[list[str], list[int]]:
    rows = [line.rsplit("\t", 1) for line in (DATA_DIR / "sst2" / "train.tsv").read_text().splitlines()[1:]]
    rows = [r for r in rows if len(r[0].split()) >= 8][:n]  # sentences, not SST-2's short phrases
    return [t for t, _ in rows], [int(y) for _, y in rows]


# ---- sentence embeddings -------------------------------------------------------------------------------------------


def embedding_rates(texts: list[str], rounds: int) -> tuple[float, float, str]:
    from sentence_transformers import SentenceTransformer

    from seqlab.models.bert import load_sentence_encoder, pretrained_dir

    ours = load_sentence_encoder()
    ref = SentenceTransformer(str(pretrained_dir()), device="cpu")
    a, b = ours.encode(texts, batch_size=64), ref.encode(texts, batch_size=64)
    cosine = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    check(cosine.min() >= 0.99999, f"sentence embeddings: min cosine {cosine.min():.6f} < 0.99999")
    best = {"ours": 0.0, "ref": 0.0}
    for _ in range(rounds):
        for side, encode in (("ours", lambda: ours.encode(texts, batch_size=64)),
                             ("ref", lambda: ref.encode(texts, batch_size=64))):
            start = time.perf_counter()
            encode()
            best[side] = max(best[side], len(texts) / (time.perf_counter() - start))
    return best["ours"], best["ref"], f"min cosine {cosine.min():.7f} over {len(texts)} sentences"


# ---- fine-tuning ---------------------------------------------------------------------------------------------------


def classifier_pair(n_classes: int = 2):
    """Our BertClassifier and HF's BertForSequenceClassification with all-MiniLM-L6-v2, the same head, no dropout."""
    import json
    from dataclasses import replace

    from transformers import BertForSequenceClassification

    from seqlab.models.bert import Bert, BertClassifier, config_from_hf, pretrained_dir

    directory = pretrained_dir()
    config = replace(config_from_hf(json.loads((directory / "config.json").read_text())), dropout=0.0,
                     attention_dropout=0.0)
    torch.manual_seed(0)
    ours = BertClassifier(Bert.from_hf(directory, config), n_classes)
    ref = BertForSequenceClassification.from_pretrained(directory, num_labels=n_classes, hidden_dropout_prob=0.0,
                                                        attention_probs_dropout_prob=0.0, attn_implementation="sdpa")
    ref.classifier.load_state_dict(ours.classifier.state_dict())
    return ours, ref, (directory / "tokenizer.json").read_text(encoding="utf-8")


def batches(tokenizer_json: str, texts: list[str], labels: list[int], size: int) -> list[dict]:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(tokenizer_json)
    tok.enable_padding(pad_id=0)
    out = []
    for start in range(0, len(texts) - size + 1, size):
        enc = tok.encode_batch(texts[start : start + size])
        out.append({"ids": torch.tensor([e.ids for e in enc]), "mask": torch.tensor([e.attention_mask for e in enc]),
                    "labels": torch.tensor(labels[start : start + size])})
    return out


def hf_loss(ref, batch: dict) -> torch.Tensor:
    return F.cross_entropy(ref(input_ids=batch["ids"], attention_mask=batch["mask"]).logits.float(), batch["labels"])


def check_training_agreement(ours, ref, batch: dict) -> str:
    """fp32: the same loss and the same gradient for every weight."""
    from seqlab.models.bert import state_to_hf

    ours.train(), ref.train()
    ours.zero_grad(), ref.zero_grad()
    loss_ours, loss_ref = ours.loss(**batch), hf_loss(ref, batch)
    check_close(loss_ours.detach(), loss_ref.detach(), "loss, ours vs HF", tol=1e-5)
    loss_ours.backward(), loss_ref.backward()
    ref_grads = {name: p.grad for name, p in ref.named_parameters()}
    ours_grads = state_to_hf({f"bert.{name}": p.grad for name, p in ours.bert.named_parameters()})
    worst = max(check_close(grad, ref_grads[name], f"gradient of {name}", tol=1e-4)
                for name, grad in ours_grads.items())
    check_close(ours.classifier.weight.grad, ref.classifier.weight.grad, "classifier gradient", tol=1e-4)
    ours.zero_grad(), ref.zero_grad()
    return f"loss equal, every gradient equal (max diff {worst:.1e})"


def train_rate(loss_fn, params, data: list[dict]) -> float:
    opt = torch.optim.AdamW(params, lr=2e-5)

    def step(batch: dict) -> None:
        loss_fn(batch).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    step(data[0])  # warm-up: allocator, optimiser state
    start = time.perf_counter()
    for batch in data[1:]:
        step(batch)
    return sum(len(b["labels"]) for b in data[1:]) / (time.perf_counter() - start)


def finetune_rates(n_batches: int, rounds: int) -> tuple[float, float, str]:
    ours, ref, tokenizer = classifier_pair()
    texts, labels = sst2_texts(32 * n_batches)
    data = batches(tokenizer, texts, labels, 32)
    agreement = check_training_agreement(ours, ref, data[0])
    best = {"ours": 0.0, "ref": 0.0}
    for _ in range(rounds):
        best["ours"] = max(best["ours"], train_rate(lambda b: ours.loss(**b), ours.parameters(), data))
        best["ref"] = max(best["ref"], train_rate(lambda b: hf_loss(ref, b), ref.parameters(), data))
    pieces = np.mean([b["ids"].shape[1] for b in data])
    return best["ours"], best["ref"], f"{agreement}; {len(data)} batches of 32, {pieces:.0f} pieces on average"


def _row(what: str, ours: float, reference: float, setup: str) -> dict:
    return {"benchmark": "bert", "what": what, "precision": "fp32", "ours": ours, "reference": reference,
            "ratio": ours / reference, "setup": setup}


def run(quick: bool = False, force_bf16: bool = False) -> list[dict]:
    n_sentences, n_batches, rounds = (256, 3, 1) if quick else (10_000, 40, 2)
    ours, ref, setup = embedding_rates(sentences(n_sentences), rounds)
    rows = [_row(f"sentence embeddings/s, {n_sentences} sentences, batch 64 (vs sentence-transformers)", ours, ref,
                 f"all-MiniLM-L6-v2, Multi30k train captions; {setup}")]
    ours, ref, setup = finetune_rates(n_batches, rounds)
    rows.append(_row("fine-tuning examples/s, SST-2, batch 32 (vs HF BertForSequenceClassification)", ours, ref,
                     f"all-MiniLM-L6-v2 + linear head, AdamW; {setup}"))
    return rows
