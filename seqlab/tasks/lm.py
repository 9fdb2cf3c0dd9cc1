"""Language modelling: a recurrent network, a GPT or a Transformer-XL, on characters (Tiny Shakespeare), words
(WikiText-2) or byte-level BPE tokens (a GPT-2 style tokeniser trained on the training split).

Training reads random windows of ``seq_len`` tokens and predicts each next token (teacher forcing), as char-rnn and
nanoGPT do; or, with ``train_order: stream``, the training split cut into ``batch_size`` rows read in order, the
state (an RNN's, XL's memory) carried from batch to batch, as word_language_model and Transformer-XL do.
Evaluation reads the whole split: a recurrent model as one stream cut into ``eval_batch_size`` rows, its state
carried from window to window; XL the same way, in segments of ``seq_len`` over its evaluation memory; a GPT in
windows of its context that start every ``eval_stride`` tokens, each token scored once (stride = context:
non-overlapping windows, which is what nanoGPT's loss estimates; stride 1: the sliding window). Losses are in
nats per token; WikiText-2 also reports perplexity per word (the total loss over the split's words, <eos> included,
the same count whatever the tokeniser), Tiny Shakespeare bits per character.
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from seqlab.data import describe
from seqlab.data.collate import IGNORE_INDEX, stream_batches
from seqlab.errors import SeqlabError
from seqlab.generation import beam_generate, generate_tokens
from seqlab.models.elmo import BiLM
from seqlab.models.gpt import GPT
from seqlab.models.rnn import RNNLanguageModel
from seqlab.models.transformer_xl import TransformerXL
from seqlab.nn.adaptive import token_nll
from seqlab.nn.memory import SegmentMemory
from seqlab.report import ReportParts
from seqlab.tasks.common import begin_run, fit_run, load_split, read_run_json, write_metrics
from seqlab.tasks.config import LEVELS, SAMPLE_PROMPT, LMData, SampleConfig  # noqa: F401
from seqlab.tasks.config import LMRunConfig as RunConfig
from seqlab.text import Vocab
from seqlab.text.subword import SubwordVocab, train_byte_bpe
from seqlab.text.vocab import CharVocab
from seqlab.training import load_weights

# model_type -> the family (each has from_config and loss; the generation protocol prefill / step / reorder_state)
MODELS: dict[str, type[nn.Module]] = {"rnn": RNNLanguageModel, "gpt": GPT, "xl": TransformerXL, "elmo": BiLM}
AnyVocab = Vocab | CharVocab | SubwordVocab

# ---- text <-> ids ----------------------------------------------------------------------------------


def read_stream(data: LMData, split: str, data_dir: str | Path | None) -> str | list[str]:
    """The split as one string (characters, BPE) or one word list with <eos> closing each line (words). WikiText's
    text for BPE is its words, one space apart, a newline for each <eos>: the same words the word level reads."""
    examples = load_split(data.dataset, split, data_dir)
    if LEVELS[data.dataset] == "char":
        return "".join(ex.text for ex in examples)
    lines = [ex.text.split() for ex in examples if ex.text.strip()]
    if data.level == "word":
        return [tok for words in lines for tok in [*words, "<eos>"]]
    return "".join(" ".join(words) + "\n" for words in lines)


def count_words(data: LMData, stream: str | list[str]) -> int:
    """Words of a WikiText stream, <eos> (newline) included: the unit of per-word perplexity."""
    if isinstance(stream, list):
        return len(stream)
    return sum(len(line.split()) + 1 for line in stream.splitlines())


def build_vocab(data: LMData, train_stream: str | list[str]) -> AnyVocab:
    if data.level == "bpe":
        chunks = _chunks(train_stream)
        return SubwordVocab(train_byte_bpe(chunks, data.bpe_vocab_size))
    if data.level == "char":
        return CharVocab.build([train_stream])
    return Vocab.build([train_stream])


def _chunks(text: str, lines_per_chunk: int = 1000) -> list[str]:
    """Text cut at line ends, so a tokeniser can read it in parallel (``encode_batch``)."""
    lines = text.splitlines(keepends=True)
    return ["".join(lines[i : i + lines_per_chunk]) for i in range(0, len(lines), lines_per_chunk)]


def encode(vocab: AnyVocab, stream: str | list[str]) -> torch.Tensor:
    if isinstance(vocab, SubwordVocab):
        encodings = vocab.tokenizer.encode_batch(_chunks(stream), add_special_tokens=False)
        return torch.tensor([i for e in encodings for i in e.ids], dtype=torch.long)
    return torch.tensor(vocab.encode(stream), dtype=torch.long)


def decode(vocab: AnyVocab, ids: list[int]) -> str:
    if isinstance(vocab, SubwordVocab):
        return vocab.decode(ids, skip_specials=False)  # WikiText's own "<unk>" is a special of the tokeniser
    out = vocab.decode(ids)
    return out if isinstance(out, str) else " ".join(out).replace(" <eos> ", "\n")


def load_vocab(data: dict) -> AnyVocab:
    if data.get("type") == "char":
        return CharVocab.from_dict(data)
    if "model" in data and "pre_tokenizer" in data:  # a tokenizer.json
        return SubwordVocab.from_dict(data)
    return Vocab.from_dict(data)


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


@dataclass
class StreamSegments:
    """One pass over the stream cut into ``batch_size`` rows, ``seq_len`` columns at a time (word_language_model's
    batchify): row b of a batch continues row b of the one before, so the model carries its state (an RNN's
    (h, c), Transformer-XL's memory) across batches; ``carry`` is False at the first batch of each pass."""

    stream: torch.Tensor
    seq_len: int
    batch_size: int

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        for i, (inputs, targets) in enumerate(stream_batches(self.stream, self.batch_size, self.seq_len)):
            if inputs.size(1) == self.seq_len:  # the short tail of a pass would be a batch of another shape
                yield {"inputs": inputs, "targets": targets, "carry": torch.tensor(i > 0)}

    def __len__(self) -> int:
        return (len(self.stream) - 1) // self.batch_size // self.seq_len


# ---- the loss on a whole split ----------------------------------------------------------------------------


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def stream_loss(model: nn.Module, stream: torch.Tensor, rows: int, seq_len: int,
                nll: Callable[..., tuple[torch.Tensor, object]] | None = None) -> tuple[float, int]:
    """Summed next-token loss (nats) and the number of tokens scored, the recurrent state carried across windows.
    ``nll(inputs, targets, state) -> (nll, state)`` is the model's ``nll`` unless given."""
    device = _device(model)
    nll = nll or model.nll
    state, total, count = None, 0.0, 0
    for inputs, targets in stream_batches(stream, rows, seq_len):
        losses, state = nll(inputs.to(device), targets.to(device), state)
        total, count = total + losses.sum().item(), count + targets.numel()
    return total, count


def windows(n: int, context: int, stride: int) -> list[tuple[int, int]]:
    """(start, first scored target) of the windows that score targets 1..n-1 of an n-token stream once each: window
    inputs are stream[start : start + context], and it scores the targets from ``first`` to start + context."""
    out, scored = [], 1
    end = min(context, n - 1)
    while True:
        start = end - min(context, end)
        out.append((start, scored))
        scored = end + 1
        if end == n - 1:
            return out
        end = min(end + stride, n - 1)


@torch.no_grad()
def window_loss(model: GPT, stream: torch.Tensor, rows: int, context: int, stride: int) -> tuple[float, int]:
    """Summed next-token loss (nats) and tokens scored: every token after the first, each predicted from the up to
    ``context`` tokens before it that its window holds (stride < context: more left context, more windows)."""
    device = _device(model)
    total, count = 0.0, 0
    spans = windows(len(stream), context, stride or context)
    by_length: dict[int, list[tuple[int, int]]] = {}
    for start, first in spans:
        length = min(context, len(stream) - 1 - start)
        by_length.setdefault(length, []).append((start, first))
    for length, group in by_length.items():
        offsets = torch.arange(length)
        for i in range(0, len(group), rows):
            starts = torch.tensor([s for s, _ in group[i : i + rows]])[:, None]
            firsts = torch.tensor([f for _, f in group[i : i + rows]])[:, None]
            index = starts + offsets  # (B, T)
            targets = stream[index + 1].masked_fill(index + 1 < firsts, IGNORE_INDEX).to(device)
            hidden = model.hidden_states(stream[index].to(device))  # (B, T, D)
            scored = targets != IGNORE_INDEX  # sliding by one scores only the last position: the head reads those
            nll = token_nll(model.head, hidden[scored], targets[scored])
            total, count = total + nll.sum().item(), count + int(scored.sum())
    return total, count


@torch.no_grad()
def segment_loss(model: TransformerXL, stream: torch.Tensor, rows: int, seq_len: int, mem_len: int | None = None
                 ) -> tuple[float, int]:
    """Summed next-token loss (nats) and tokens scored: the stream cut into ``rows`` rows read ``seq_len`` tokens at a
    time, each segment attending to the memory of the ``mem_len`` (default: eval_mem_len) states before it."""
    device = _device(model)
    memory = SegmentMemory(model.config.memory_at_eval if mem_len is None else mem_len)
    total, count = 0.0, 0
    for inputs, targets in stream_batches(stream, rows, seq_len):
        nll = model.nll(inputs.to(device), targets.to(device), memory)
        total, count = total + nll.sum().item(), count + targets.numel()
    return total, count


def bilm_losses(model: BiLM, stream: torch.Tensor, rows: int, seq_len: int) -> tuple[float, float, int]:
    """The forward and the backward LM's summed losses (nats) and the tokens each scored: the forward LM reads the
    stream as a recurrent LM does, its state carried across windows; the backward LM reads it reversed."""
    forward, count = stream_loss(model, stream, rows, seq_len, nll=functools.partial(model.direction_nll, 0))
    backward, _ = stream_loss(model, stream.flip(0), rows, seq_len, nll=functools.partial(model.direction_nll, 1))
    return forward, backward, count


def split_loss(model: nn.Module, ids: torch.Tensor, cfg: RunConfig, *, stride: int | None = None
               ) -> tuple[float, int]:
    """The summed loss and the tokens scored; a GPT's windows start every ``stride`` tokens (default:
    data.eval_stride); a biLM's loss is the mean of its two directions'."""
    was_training = model.training
    model.eval()
    try:
        if isinstance(model, BiLM):
            forward, backward, count = bilm_losses(model, ids, cfg.data.eval_batch_size, cfg.data.seq_len)
            return (forward + backward) / 2, count
        if isinstance(model, GPT):
            stride = cfg.data.eval_stride if stride is None else stride
            return window_loss(model, ids, cfg.data.eval_batch_size, cfg.data.seq_len, stride)
        if isinstance(model, TransformerXL):
            return segment_loss(model, ids, cfg.data.eval_batch_size, cfg.data.seq_len)
        return stream_loss(model, ids, cfg.data.eval_batch_size, cfg.data.seq_len)
    finally:
        model.train(was_training)


# ---- the predictor -----------------------------------------------------------------------------------------


class TextStream:
    """Token ids -> text as it grows: a byte-level token may end inside a character, so text is released only up
    to the last complete character (as Hugging Face's TextStreamer does)."""

    def __init__(self, decode_ids: Callable[[list[int]], str]):
        self.decode_ids, self.ids, self.shown = decode_ids, [], 0

    def add(self, token_id: int) -> str:
        self.ids.append(token_id)
        text = self.decode_ids(self.ids)
        if text.endswith("\ufffd"):
            return ""
        piece, self.shown = text[self.shown :], len(text)
        if piece.endswith("\n"):  # start afresh: decoding stays short however long the text grows
            self.ids, self.shown = [], 0
        return piece

    def flush(self) -> str:
        text = self.decode_ids(self.ids)
        piece, self.ids, self.shown = text[self.shown :], [], 0
        return piece

    def pieces(self, tokens: Iterable[int]) -> Iterator[str]:
        """The text of ``tokens`` (negative ids: none, the row has stopped), piece by piece, the tail flushed."""
        for token in tokens:
            if token >= 0 and (piece := self.add(token)):
                yield piece
        if tail := self.flush():
            yield tail


class LanguageModel:
    """A trained language model: ``generate("To be or not to be", max_new_tokens=200)`` -> texts;
    ``stream(prompt)`` yields the text as it is generated."""

    def __init__(self, model: nn.Module, vocab: AnyVocab, config: RunConfig):
        self.model, self.vocab, self.config = model, vocab, config

    @property
    def level(self) -> str:
        return self.config.data.level

    @property
    def context(self) -> int | None:
        """The most tokens the model reads (a GPT's n_positions); None for a recurrent model or Transformer-XL."""
        return self.model.config.n_positions if isinstance(self.model, GPT) else None

    def prompt_ids(self, prompt: str) -> list[int]:
        """The prompt's ids; what the vocabulary lacks is named in one warning (characters are dropped, words read
        as <unk>); a prompt longer than the context keeps its last tokens."""
        if not prompt:
            prompt = "\n" if self.level in ("char", "bpe") else "<eos>"
        if self.level == "bpe":
            ids = self.vocab.encode(prompt)
        else:
            tokens = prompt if self.level == "char" else prompt.split()
            ids = self.vocab.encode(tokens)
            unknown = sorted({t for t, i in zip(tokens, ids, strict=True) if i == self.vocab.unk_id})
            if unknown:
                what = "character(s)" if self.level == "char" else "word(s)"
                action = "left out" if self.level == "char" else "read as <unk>"
                warnings.warn(f"the prompt holds {len(unknown)} {what} this model never saw, {action}: "
                              + ", ".join(repr(t) for t in unknown[:5]), stacklevel=3)
                if self.level == "char":
                    ids = [i for i in ids if i != self.vocab.unk_id]
        if not ids:
            raise SeqlabError("nothing is left of the prompt: this model knows none of its characters")
        if self.context is not None and len(ids) > self.context:
            warnings.warn(f"the prompt is {len(ids)} tokens, longer than the model's context of {self.context}: "
                          f"it reads the last {self.context}", stacklevel=3)
            ids = ids[-self.context :]
        return ids

    def token_text(self, token_id: int) -> str:
        """One token as text (a word, a character, a BPE piece), for showing tokens one by one."""
        return self._decode_new([token_id]).lstrip(" ") if self.level == "word" else self._decode_new([token_id])

    def _decode_new(self, ids: list[int]) -> str:
        if self.level == "word":
            words = self.vocab.decode(ids)
            return "".join("\n" if w == "<eos>" else f" {w}" for w in words)
        return decode(self.vocab, ids)

    @torch.no_grad()
    def stream(self, prompt: str = "", *, max_new_tokens: int = 200, temperature: float = 0.8,
               top_k: int | None = None, top_p: float | None = None, repetition_penalty: float = 1.0,
               seed: int | None = None, stop: Sequence[str] = ()) -> Iterator[str]:
        """The text one continuation of ``prompt`` adds, piece by piece as it is generated (the prompt excluded)."""
        ids, generator = self._start(prompt, max_new_tokens, seed)
        steps = self._steps(ids, 1, max_new_tokens, generator, temperature=temperature, top_k=top_k, top_p=top_p,
                            repetition_penalty=repetition_penalty, stop_strings=tuple(stop))
        yield from TextStream(self._decode_new).pieces(step[0] for step in steps)

    @torch.no_grad()
    def generate(self, prompt: str = "", *, max_new_tokens: int = 200, temperature: float = 0.8,
                 top_k: int | None = None, top_p: float | None = None, repetition_penalty: float = 1.0,
                 seed: int | None = None, n: int = 1, stop: Sequence[str] = (), beam: int = 1,
                 on_text: Callable[[str], None] | None = None) -> list[str]:
        """``n`` continuations of ``prompt`` (the prompt included), through seqlab.generation's loop. An empty
        prompt starts from a newline. Each stops after ``max_new_tokens`` or once its new text holds a string of
        ``stop``; ``beam`` > 1 returns the most probable continuation found by beam search; ``on_text(piece)``
        streams the text of the first continuation as it is generated."""
        ids, generator = self._start(prompt, max_new_tokens, seed)
        start = decode(self.vocab, ids) if self.level != "word" else " ".join(self.vocab.decode(ids))
        if beam > 1:
            out, _ = beam_generate(self.model, torch.tensor([ids], device=_device(self.model)), max_new_tokens,
                                   beam_size=beam, pad_id=0)
            return [start + self._decode_new(out[0, len(ids):].tolist())]
        rows: list[list[int]] = [[] for _ in range(n)]

        def first_row() -> Iterator[int]:  # every row kept, the first row's token passed on for on_text
            for step in self._steps(ids, n, max_new_tokens, generator, temperature=temperature, top_k=top_k,
                                    top_p=top_p, repetition_penalty=repetition_penalty, stop_strings=tuple(stop)):
                for row, token in zip(rows, step, strict=True):
                    if token >= 0:
                        row.append(token)
                yield step[0]

        if on_text is None:
            for _ in first_row():
                pass
        else:
            for piece in TextStream(self._decode_new).pieces(first_row()):
                on_text(piece)
        return [start + self._decode_new(row) for row in rows]

    def _steps(self, ids: list[int], n: int, max_new_tokens: int, generator: torch.Generator | None,
               **sampling) -> Iterator[list[int]]:
        """Each step's new token for each of ``n`` rows from the prompt ``ids`` (-1 once a row has stopped)."""
        prompt = torch.tensor([ids] * n, device=_device(self.model))
        try:
            for token in generate_tokens(self.model, prompt, max_new_tokens, generator=generator,
                                         decode=self._decode_new, pad_id=-1, **sampling):
                yield token.tolist()
        except ValueError as err:
            raise SeqlabError(str(err)) from err

    def save_hf(self, directory: str | Path) -> Path:
        """Export a GPT as a Hugging Face directory: config.json and model.safetensors (GPT2LMHeadModel), and the
        tokenizer.json of a BPE vocabulary (a character or word vocabulary has no Hugging Face tokenizer)."""
        if not isinstance(self.model, GPT):
            raise SeqlabError("only a GPT exports to Hugging Face (GPT2LMHeadModel); this run holds a "
                              f"{family_name(self.config)} language model")
        directory = self.model.save_hf(directory)
        if isinstance(self.vocab, SubwordVocab):
            from seqlab.text.subword import save_tokenizer

            save_tokenizer(self.vocab.tokenizer, directory / "tokenizer.json")
        return directory

    def _start(self, prompt: str, max_new_tokens: int, seed: int | None) -> tuple[list[int], torch.Generator | None]:
        if max_new_tokens < 1:
            raise SeqlabError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
        ids = self.prompt_ids(prompt)
        device = _device(self.model)
        generator = torch.Generator(device=device).manual_seed(seed) if seed is not None else None
        self.model.eval()
        return ids, generator


# ---- train, load, evaluate --------------------------------------------------------------------------------


def build_model(cfg: RunConfig, vocab_size: int) -> nn.Module:
    cutoffs = cfg.network.adaptive_cutoffs
    if cutoffs and cutoffs[-1] >= vocab_size:  # the vocabulary's size is known only now
        raise SeqlabError(f"{cfg.network_section}.adaptive_cutoffs={cutoffs} must lie below the vocabulary: the "
                          f"{cfg.data.level}-level vocabulary of {cfg.data.dataset} has {vocab_size} entries")
    if cutoffs and cfg.data.level != "word":
        warnings.warn(f"an adaptive softmax clusters ids by frequency; {cfg.data.level} ids are not sorted by it, "
                      "so its clusters cost as much as they save", stacklevel=2)
    cfg.network.vocab_size = vocab_size
    return MODELS[cfg.model_type].from_config(cfg.network)


def _spell_words(model: nn.Module, vocab: AnyVocab) -> None:
    """A biLM reads words by their characters: give it the vocabulary's spellings."""
    if isinstance(model, BiLM):
        model.set_vocabulary(vocab.tokens)


def train(cfg: RunConfig, out_dir: str | Path, *, progress: bool = True, data_dir: str | Path | None = None,
          resume: bool = False) -> dict:
    """Train the language model, report the validation loss and samples."""
    started, cfg, out_dir = begin_run(cfg, out_dir)
    train_stream = read_stream(cfg.data, "train", data_dir)
    vocab = build_vocab(cfg.data, train_stream)
    model = build_model(cfg, len(vocab))
    _spell_words(model, vocab)
    train_ids = encode(vocab, train_stream)
    valid_ids = encode(vocab, read_stream(cfg.data, "validation", data_dir))
    if cfg.data.train_order == "stream":
        batches = StreamSegments(train_ids, cfg.data.seq_len, cfg.train.batch_size)
        if resume:  # the carried state lives in the model between steps, not in the checkpoint
            warnings.warn("resuming: the state carried between batches (an RNN's, XL's memory) is not in the "
                          "checkpoint, so the first batch after the resume starts from an empty one", stacklevel=2)
    else:
        batches = RandomWindows(train_ids, cfg.data.seq_len, cfg.train.batch_size, cfg.train.seed)

    def evaluate_dev(m: nn.Module) -> dict:  # a GPT in non-overlapping windows: sliding by one costs a pass a token
        total, count = split_loss(m, valid_ids, cfg, stride=cfg.data.seq_len)
        return {"loss": total / count}

    def save_vocab(d: Path) -> None:
        from seqlab.io import write_json

        write_json(d / "vocab.json", vocab.to_dict())

    facts = fit_run(cfg, model, batches, out_dir, started, evaluate_dev=evaluate_dev, save_vocab=save_vocab,
                    count_tokens=lambda b: b["targets"].numel(), progress=progress, resume=resume)
    if facts is None:
        return {}
    facts["train_tokens"] = facts["steps"] * cfg.train.batch_size * cfg.data.seq_len
    metrics, _ = evaluate(out_dir, split="validation", data_dir=data_dir, stride=cfg.data.seq_len)
    return write_metrics(out_dir, metrics, facts, started)


def load_predictor(run_dir: Path, cfg: RunConfig, *, device: str = "cpu") -> LanguageModel:
    vocab = load_vocab(read_run_json(run_dir, "vocab.json"))
    model = MODELS[cfg.model_type].from_config(cfg.network)
    load_weights(model, run_dir / "model.safetensors")
    return LanguageModel(model.to(device).eval(), vocab, cfg)


def evaluate(run_dir: str | Path, *, split: str | None = None, data_dir: str | Path | None = None, beam_size: int = 1,
             out_dir: str | Path | None = None, stride: int | None = None) -> tuple[dict, ReportParts]:
    """Loss (nats/token), perplexity, per-word perplexity (WikiText-2) or bits per character (Tiny Shakespeare) on
    ``split`` (default: test where the dataset has one, else validation; a split the dataset lacks is refused,
    naming those it has), and samples from the prompt. A GPT reads windows every ``stride`` tokens (default:
    data.eval_stride; training's own validation uses seq_len, non-overlapping)."""
    from seqlab.tasks import load_run

    run_dir = Path(run_dir)
    lm: LanguageModel = load_run(run_dir)
    cfg = lm.config
    if split is None:  # Tiny Shakespeare has train and validation only (char-rnn's 90/10 split)
        split = "test" if "test" in describe(cfg.data.dataset).splits else "validation"
    stream = read_stream(cfg.data, split, data_dir)
    ids = encode(lm.vocab, stream)
    stride = (cfg.data.eval_stride or cfg.data.seq_len) if stride is None else stride
    if cfg.model_type == "gpt" and stride > cfg.data.seq_len:
        raise SeqlabError(f"a stride of {stride} would skip tokens: the windows hold {cfg.data.seq_len}")
    started = time.perf_counter()
    if isinstance(lm.model, BiLM):
        lm.model.eval()
        forward, backward, count = bilm_losses(lm.model, ids, cfg.data.eval_batch_size, cfg.data.seq_len)
        total = (forward + backward) / 2
        directions = {"forward_perplexity": math.exp(forward / count),
                      "backward_perplexity": math.exp(backward / count)}
    else:
        total, count = split_loss(lm.model, ids, cfg, stride=stride)
        directions = {}
    seconds = time.perf_counter() - started
    loss = total / count
    s = cfg.sample
    by_prompt = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an unseen character of the recipe's prompt is not news here
        for prompt in dict.fromkeys([s.prompt, *s.more_prompts]):
            by_prompt[prompt] = lm.generate(prompt, max_new_tokens=s.max_new_tokens, temperature=s.temperature,
                                            top_k=s.top_k, top_p=s.top_p, seed=s.seed, n=s.n)
    metrics = {"split": split, "dataset": cfg.data.dataset, "level": lm.level, "model_type": cfg.model_type,
               "n_tokens": len(ids), "loss": loss, "perplexity": math.exp(loss), **directions,
               "eval_seconds": round(seconds, 1),
               "samples": by_prompt[s.prompt],
               "more_samples": {p: texts for p, texts in by_prompt.items() if p != s.prompt}}
    per_unit = loss * len(ids)  # nats per token x tokens: the split's total, read per character or per word
    if LEVELS[cfg.data.dataset] == "char":
        metrics["bits_per_char"] = per_unit / len(stream) / math.log(2)
    else:
        words = count_words(cfg.data, stream)
        metrics.update(n_words=words, perplexity_per_word=math.exp(per_unit / words))
    parts = ReportParts(title=f"{cfg.data.dataset} {split}: {lm.level}-level {family_name(cfg)} language model",
                        examples=[{"prompt": p, "sample": text} for p, texts in by_prompt.items() for text in texts],
                        examples_title=f"Samples (temperature {s.temperature}, seed {s.seed})")
    if cfg.model_type == "gpt":
        metrics["eval_stride"] = stride
    parts.notes.append(_loss_note(cfg, stride))
    if (run_dir / "history.json").is_file() and (out_dir is None or Path(out_dir) == run_dir):
        parts.plots["Learning curve (training run)"] = "learning_curve.png"
    return metrics, parts


def family_name(cfg: RunConfig) -> str:
    return {"gpt": "GPT", "xl": "Transformer-XL", "elmo": "ELMo biLM"}.get(cfg.model_type) or cfg.model.cell.upper()


def _loss_note(cfg: RunConfig, stride: int) -> str:
    if cfg.model_type == "xl":
        return (f"loss: mean next-token cross-entropy in nats over the whole split, cut into "
                f"{cfg.data.eval_batch_size} rows read in segments of {cfg.data.seq_len} tokens, each attending to "
                f"a memory of the {cfg.xl.memory_at_eval} states before it.")
    if cfg.model_type == "elmo":
        return ("loss: the mean of the forward LM's next-word and the backward LM's previous-word cross-entropies "
                "in nats over the whole split, each direction's state carried across windows of "
                f"{cfg.data.seq_len}; perplexity = exp(loss), the geometric mean of the two directions'.")
    if cfg.model_type == "gpt":
        return (f"loss: mean next-token cross-entropy in nats over the whole split, read in windows of "
                f"{cfg.data.seq_len} tokens starting every {stride}, each token scored once.")
    return ("loss: mean next-token cross-entropy in nats over the whole split, the recurrent state carried across "
            f"windows of {cfg.data.seq_len}.")
