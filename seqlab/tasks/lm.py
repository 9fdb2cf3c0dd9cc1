"""Language modelling with a recurrent network: characters (Tiny Shakespeare) or words (WikiText-2).

Training reads random windows of ``seq_len`` tokens and predicts each next token (teacher forcing), as
char-rnn and nanoGPT do. Evaluation reads the split as one stream, cut into ``eval_batch_size`` rows read
``seq_len`` tokens at a time with the recurrent state carried from window to window, so every token but
the first is predicted from all the text before it: the model's true per-token loss on the split. The
loss is in nats per token (per character for ``level: char``; bits per character = loss / ln 2).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from seqlab.data import describe
from seqlab.data.collate import stream_batches
from seqlab.errors import SeqlabError
from seqlab.generation import generate
from seqlab.models.rnn import RNNLanguageModel
from seqlab.report import ReportParts
from seqlab.tasks.common import begin_run, fit_run, load_split, read_run_json, write_metrics
from seqlab.tasks.config import LEVELS, SAMPLE_PROMPT, LMData, SampleConfig  # noqa: F401
from seqlab.tasks.config import LMRunConfig as RunConfig
from seqlab.text import Vocab
from seqlab.text.vocab import CharVocab
from seqlab.training import load_weights

# ---- text <-> ids ----------------------------------------------------------------------------------


def read_stream(dataset: str, split: str, data_dir: str | Path | None) -> str | list[str]:
    """The split as one string (characters) or one token list with <eos> closing each line (words)."""
    examples = load_split(dataset, split, data_dir)
    if LEVELS[dataset] == "char":
        return "".join(ex.text for ex in examples)
    return [tok for ex in examples if ex.text.strip() for tok in [*ex.text.split(), "<eos>"]]


def build_vocab(dataset: str, train_stream: str | list[str]) -> Vocab:
    if LEVELS[dataset] == "char":
        return CharVocab.build([train_stream])
    return Vocab.build([train_stream])


def encode(vocab: Vocab, stream: str | list[str]) -> torch.Tensor:
    return torch.tensor(vocab.encode(stream), dtype=torch.long)


def decode(vocab: Vocab, ids: list[int]) -> str:
    out = vocab.decode(ids)
    return out if isinstance(out, str) else " ".join(out).replace(" <eos> ", "\n")


@dataclass
class RandomWindows:
    """Endless batches of random windows (inputs, targets shifted by one), drawn from a seeded generator:
    each ``iter`` starts the same sequence again, so a resumed run replays its way to where it stopped."""

    stream: torch.Tensor
    seq_len: int
    batch_size: int
    seed: int

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        generator = torch.Generator().manual_seed(self.seed)
        offsets = torch.arange(self.seq_len)
        while True:
            starts = torch.randint(0, len(self.stream) - self.seq_len - 1, (self.batch_size, 1), generator=generator)
            window = starts + offsets  # (B, T)
            yield {"inputs": self.stream[window], "targets": self.stream[window + 1]}


@torch.no_grad()
def stream_loss(model: RNNLanguageModel, stream: torch.Tensor, rows: int, seq_len: int) -> float:
    """Mean next-token loss (nats) over the stream, the recurrent state carried across windows."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    state, total, count = None, 0.0, 0
    for inputs, targets in stream_batches(stream, rows, seq_len):
        logits, state = model(inputs.to(device), state)
        loss = torch.nn.functional.cross_entropy(logits.float().flatten(0, 1), targets.to(device).flatten(),
                                                 reduction="sum")
        total, count = total + loss.item(), count + targets.numel()
    model.train(was_training)
    return total / count


class LanguageModel:
    """A trained language model: ``generate("To be or not to be", max_new_tokens=200)`` -> text."""

    def __init__(self, model: RNNLanguageModel, vocab: Vocab, config: RunConfig):
        self.model, self.vocab, self.config = model, vocab, config

    @property
    def level(self) -> str:
        return LEVELS[self.config.data.dataset]

    def _prompt_ids(self, prompt: str) -> list[int]:
        tokens = prompt if self.level == "char" else prompt.split()
        ids = self.vocab.encode(tokens)
        unknown = sorted({t for t, i in zip(tokens, ids, strict=True) if i == self.vocab.unk_id})
        if unknown:
            raise SeqlabError(f"the prompt holds {len(unknown)} {self.level}(s) this model never saw: "
                              + ", ".join(repr(t) for t in unknown[:5]))
        return ids

    def piece(self, token_id: int) -> str:
        """The text one generated token adds (a word level model puts a space before each word)."""
        if self.level == "char":
            return decode(self.vocab, [token_id])
        word = self.vocab.decode([token_id])[0]
        return "\n" if word == "<eos>" else f" {word}"

    @torch.no_grad()
    def generate(self, prompt: str = "", *, max_new_tokens: int = 200, temperature: float = 0.8,
                 top_k: int | None = None, top_p: float | None = None, seed: int | None = None,
                 n: int = 1, stop: Sequence[str] = (), on_text: Callable[[str], None] | None = None) -> list[str]:
        """``n`` continuations of ``prompt`` (the prompt included), through seqlab.generation's loop. An empty
        prompt starts from a newline. Each stops after ``max_new_tokens`` or once its new text holds a string of
        ``stop``; ``on_text(piece)`` streams the text of the first continuation as it is generated."""
        if max_new_tokens < 1:
            raise SeqlabError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
        ids = self._prompt_ids(prompt or ("\n" if self.level == "char" else "<eos>"))
        device = next(self.model.parameters()).device
        generator = torch.Generator(device=device).manual_seed(seed) if seed is not None else None
        prompt_ids = torch.tensor([ids] * n, device=device)
        stream = None if on_text is None else (lambda tokens: on_text(self.piece(int(tokens[0]))))
        self.model.eval()
        try:
            out = generate(self.model, prompt_ids, max_new_tokens, temperature=temperature, top_k=top_k, top_p=top_p,
                           generator=generator, stop_strings=tuple(stop), pad_id=-1, on_token=stream,
                           decode=lambda new: decode(self.vocab, new))
        except ValueError as err:
            raise SeqlabError(str(err)) from err
        return [decode(self.vocab, [i for i in row.tolist() if i >= 0]) for row in out]


def train(cfg: RunConfig, out_dir: str | Path, *, progress: bool = True, data_dir: str | Path | None = None,
          resume: bool = False) -> dict:
    """Train the language model, report the validation (and test, where there is one) loss and samples."""
    started, cfg, out_dir = begin_run(cfg, out_dir)
    train_stream = read_stream(cfg.data.dataset, "train", data_dir)
    vocab = build_vocab(cfg.data.dataset, train_stream)
    cfg.model.vocab_size = len(vocab)
    model = RNNLanguageModel.from_config(cfg.model)
    train_ids = encode(vocab, train_stream)
    valid_ids = encode(vocab, read_stream(cfg.data.dataset, "validation", data_dir))
    batches = RandomWindows(train_ids, cfg.data.seq_len, cfg.train.batch_size, cfg.train.seed)

    def evaluate_dev(m: RNNLanguageModel) -> dict:
        return {"loss": stream_loss(m, valid_ids, cfg.data.eval_batch_size, cfg.data.seq_len)}

    facts = fit_run(cfg, model, batches, out_dir, started, evaluate_dev=evaluate_dev,
                    save_vocab=lambda d: vocab.save(d / "vocab.json"), count_tokens=lambda b: b["targets"].numel(),
                    progress=progress, resume=resume)
    if facts is None:
        return {}
    metrics, _ = evaluate(out_dir, split="validation", data_dir=data_dir)
    return write_metrics(out_dir, metrics, facts, started)


def load_predictor(run_dir: Path, cfg: RunConfig, *, device: str = "cpu") -> LanguageModel:
    data = read_run_json(run_dir, "vocab.json")
    vocab = CharVocab.from_dict(data) if data.get("type") == "char" else Vocab.from_dict(data)
    model = RNNLanguageModel.from_config(cfg.model)
    load_weights(model, run_dir / "model.safetensors")
    return LanguageModel(model.to(device).eval(), vocab, cfg)


def evaluate(run_dir: str | Path, *, split: str | None = None, data_dir: str | Path | None = None, beam_size: int = 1,
             out_dir: str | Path | None = None) -> tuple[dict, ReportParts]:
    """Loss (nats/token), perplexity and bits per character on ``split`` (default: test where the dataset has one,
    else validation; a split the dataset lacks is refused, naming those it has), and samples from the prompt."""
    from seqlab.tasks import load_run

    run_dir = Path(run_dir)
    lm: LanguageModel = load_run(run_dir)
    cfg = lm.config
    if split is None:  # Tiny Shakespeare has train and validation only (char-rnn's 90/10 split)
        split = "test" if "test" in describe(cfg.data.dataset).splits else "validation"
    ids = encode(lm.vocab, read_stream(cfg.data.dataset, split, data_dir))
    loss = stream_loss(lm.model, ids, cfg.data.eval_batch_size, cfg.data.seq_len)
    s = cfg.sample
    samples = lm.generate(s.prompt, max_new_tokens=s.max_new_tokens, temperature=s.temperature, top_k=s.top_k,
                          top_p=s.top_p, seed=s.seed, n=s.n)
    metrics = {"split": split, "dataset": cfg.data.dataset, "level": lm.level, "n_tokens": len(ids), "loss": loss,
               "perplexity": math.exp(loss), "samples": samples}
    if lm.level == "char":
        metrics["bits_per_char"] = loss / math.log(2)
    parts = ReportParts(title=f"{cfg.data.dataset} {split}: {lm.level}-level {cfg.model.cell.upper()} language model",
                        examples=[{"prompt": s.prompt, "sample": text} for text in samples],
                        examples_title=f"Samples (temperature {s.temperature}, seed {s.seed})")
    parts.notes.append("loss: mean next-token cross-entropy in nats over the whole split, the recurrent state "
                       f"carried across windows of {cfg.data.seq_len}.")
    if (run_dir / "history.json").is_file() and (out_dir is None or Path(out_dir) == run_dir):
        parts.plots["Learning curve (training run)"] = "learning_curve.png"
    return metrics, parts
