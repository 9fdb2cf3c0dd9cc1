"""Question answering on stories: the 20 bAbI tasks with an end-to-end memory network (seqlab.models.memnet).

    seqlab train configs/babi_memn2n_joint.yaml --data-dir ../shared/data --out runs/babi_joint
    seqlab eval runs/babi_joint                     # error per task, mean error, failed tasks (error > 5%)
    seqlab predict runs/babi_joint --story story.txt "Where is the football?"

One run trains one model on the tasks in ``data.tasks``: all 20 (joint training: one vocabulary, one model) or one
(per-task training, the paper's other setting). 10% of each task's training questions are held out for validation,
always the same ones (so that the runs of several seeds are selected on one set). The paper's schedule runs in
``PaperSchedule`` below: the linear start, then SGD with the learning rate halved every few epochs, gradients
clipped (the paper's norm 40 on the loss summed over 32 questions: 1.25 on their mean).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from seqlab.data.collate import BucketBatchSampler
from seqlab.data.examples import BabiQuestion
from seqlab.data.formats import DataFormatError
from seqlab.errors import SeqlabError
from seqlab.models.memnet import PAD_ID, MemN2N
from seqlab.report import ReportParts
from seqlab.tasks.common import begin_run, fit_run, load_split, move, read_run_json, split_off, write_metrics
from seqlab.tasks.config import BabiRunConfig as RunConfig
from seqlab.tasks.rundir import weights_file
from seqlab.text import Vocab
from seqlab.text.vocab import PAD, UNK
from seqlab.training import Callback, Trainer, load_weights

FAILED_ABOVE = 0.05  # the paper counts a task as failed when its test error exceeds 5%
DEV_SEED = 0  # the held-out questions do not change with the training seed
PLOTTED_TASKS = (1, 2, 3, 16)  # the tasks of the paper's Figure 2 (an example of each in the report)

# model_type -> the class built from cfg.model: the registry a new story model plugs into
MODELS = {"memn2n": MemN2N}


def words(text: str) -> list[str]:
    """bAbI's words: lower-cased, punctuation dropped ("Where is Mary?" -> where is mary)."""
    return re.findall(r"[a-z0-9]+", text.lower())


# ---- data --------------------------------------------------------------------------------------------------------


@dataclass
class StoryItem:
    """One encoded question: the story's last ``memory_size`` sentences, the question, the answer and its task."""

    story: list[list[int]]
    question: list[int]
    answer: int
    task: int


def load_task(task: int, split: str, cfg: RunConfig, data_dir: str | Path | None,
              notes: list[str] | None = None) -> list[BabiQuestion]:
    """One task's questions; a missing 10k training file falls back to the 1k one (``data.fallback_to_1k``), with a
    note."""
    try:
        return load_split("babi", split, data_dir, task=task, size=cfg.data.size)
    except DataFormatError:
        raise  # a damaged file is refused, never replaced
    except SeqlabError as err:
        if not (cfg.data.size == "10k" and split == "train" and cfg.data.fallback_to_1k):
            raise
        note = f"qa{task}: no 10k training file ({err}); trained on its 1k file"
        print(note)
        if notes is not None:
            notes.append(note)
        return load_split("babi", split, data_dir, task=task, size="1k")


def build_vocab(questions: Sequence[BabiQuestion]) -> Vocab:
    """Every word of the stories, questions and answers (an answer is a word of the same vocabulary: W^T = C_K)."""
    seen: dict[str, None] = {}
    for q in questions:
        for sentence in (*q.story, q.question):
            seen.update(dict.fromkeys(words(sentence)))
        seen[q.answer.lower()] = None
    return Vocab([PAD, UNK, *sorted(seen)], specials=(PAD, UNK))


def encode(q: BabiQuestion, task: int, vocab: Vocab, memory_size: int) -> StoryItem:
    story = [vocab.encode(words(s)) for s in q.story[-memory_size:]]
    return StoryItem(story=[s for s in story if s] or [[vocab.unk_id]], question=vocab.encode(words(q.question)),
                     answer=vocab[q.answer.lower()], task=task)


def collate(items: Sequence[StoryItem], *, with_task: bool = False) -> dict[str, torch.Tensor]:
    """Padded batch: story (B, M, J), question (B, Jq), answer (B,) (and task (B,): for scoring)."""
    m = max(len(it.story) for it in items)
    j = max(len(s) for it in items for s in it.story)
    story = torch.full((len(items), m, j), PAD_ID, dtype=torch.long)
    question = torch.full((len(items), max(len(it.question) for it in items)), PAD_ID, dtype=torch.long)
    for b, it in enumerate(items):
        for i, sentence in enumerate(it.story):
            story[b, i, : len(sentence)] = torch.tensor(sentence)
        question[b, : len(it.question)] = torch.tensor(it.question)
    batch = {"story": story, "question": question, "answer": torch.tensor([it.answer for it in items])}
    return batch | ({"task": torch.tensor([it.task for it in items])} if with_task else {})


def batches(items: list[StoryItem], batch_size: int, seed: int = 0, *, shuffle: bool = True,
            with_task: bool = False) -> DataLoader:
    """Batches of stories of similar length, drawn from small pools (8 batches) so that an epoch's batches still
    mix the questions at random, as the paper's do."""
    sampler = BucketBatchSampler([len(it.story) for it in items], batch_size, pool_batches=8, shuffle=shuffle,
                                 seed=seed)
    return DataLoader(items, batch_sampler=sampler, collate_fn=partial(collate, with_task=with_task))


@torch.no_grad()
def score(model: torch.nn.Module, items: list[StoryItem], batch_size: int = 256) -> dict:
    """Mean loss, error, and the error of each task over ``items``."""
    model.eval()
    device = next(model.parameters()).device
    loss, wrong, per_task = 0.0, 0, {}
    for batch in batches(items, batch_size, shuffle=False, with_task=True):
        batch = move(batch, device)
        logits = model(batch["story"], batch["question"]).float()
        loss += float(torch.nn.functional.cross_entropy(logits, batch["answer"], reduction="sum"))
        miss = logits.argmax(-1).ne(batch["answer"])
        wrong += int(miss.sum())
        for task, m in zip(batch["task"].tolist(), miss.tolist(), strict=True):
            n, w = per_task.get(task, (0, 0))
            per_task[task] = (n + 1, w + m)
    return {"loss": loss / len(items), "error": wrong / len(items),
            "task_error": {t: w / n for t, (n, w) in sorted(per_task.items())}}


# ---- the paper's schedule ----------------------------------------------------------------------------------------


class PaperSchedule(Callback):
    """Sukhbaatar et al.'s schedule, run at each epoch's evaluation: first the linear start (the model without the
    softmax over the memory) until the validation loss has not fallen for ``linear_start_patience`` epochs (or after
    ``linear_start_epochs``), at the initial rate; then ``epochs`` epochs with the rate halved every
    ``halve_every``; then stop."""

    def __init__(self, model: MemN2N, cfg: RunConfig):
        self.model, self.schedule, self.lr = model, cfg.schedule, cfg.optim.lr
        self.linear_epochs, self.epochs, self.best_loss, self.stalled = 0, 0, math.inf, 0
        model.linear = cfg.schedule.linear_start

    def on_evaluate(self, trainer: Trainer, metrics: dict) -> None:
        if self.model.linear:
            self.linear_epochs += 1
            self.stalled = self.stalled + 1 if metrics["loss"] >= self.best_loss else 0
            self.best_loss = min(self.best_loss, metrics["loss"])
            if (self.stalled >= self.schedule.linear_start_patience
                    or self.linear_epochs >= self.schedule.linear_start_epochs):
                self.model.linear = False
                trainer.history.append({"step": trainer.step, "linear_start_ended": self.linear_epochs})
        else:
            self.epochs += 1
            if self.epochs >= self.schedule.epochs:
                trainer.should_stop, trainer.stop_reason = True, f"{self.schedule.epochs} epochs"
        self._set_lr(trainer)

    def _set_lr(self, trainer: Trainer) -> None:
        lr = self.lr * 0.5 ** (self.epochs // self.schedule.halve_every)
        trainer.scheduler.base_lrs = [lr] * len(trainer.optimizer.param_groups)  # the constant schedule's rate
        for group in trainer.optimizer.param_groups:
            group["lr"] = lr

    def state_dict(self) -> dict:
        return {"linear": self.model.linear, "linear_epochs": self.linear_epochs, "epochs": self.epochs,
                "stalled": self.stalled, "best_loss": self.best_loss if math.isfinite(self.best_loss) else None}

    def load_state_dict(self, state: dict) -> None:
        self.model.linear, self.linear_epochs, self.epochs = state["linear"], state["linear_epochs"], state["epochs"]
        self.stalled = state["stalled"]
        self.best_loss = math.inf if state["best_loss"] is None else state["best_loss"]


# ---- training ----------------------------------------------------------------------------------------------------


def train(cfg: RunConfig, out_dir: str | Path, *, progress: bool = True, data_dir: str | Path | None = None,
          resume: bool = False) -> dict:
    started, cfg, out_dir = begin_run(cfg, out_dir)
    notes: list[str] = []
    train_qs = {t: load_task(t, "train", cfg, data_dir, notes) for t in cfg.data.tasks}
    vocab = build_vocab([q for qs in train_qs.values() for q in qs])
    cfg.model.vocab_size = len(vocab)
    train_items, dev_items = [], []
    for task, qs in train_qs.items():
        dev, rest = split_off(qs, cfg.data.dev_fraction, DEV_SEED + task)
        dev_items += [encode(q, task, vocab, cfg.model.memory_size) for q in dev]
        train_items += [encode(q, task, vocab, cfg.model.memory_size) for q in rest]
    per_epoch = math.ceil(len(train_items) / cfg.train.batch_size)
    linear_epochs = cfg.schedule.linear_start_epochs if cfg.schedule.linear_start else 0
    cfg.train.steps, cfg.train.eval_every = (linear_epochs + cfg.schedule.epochs) * per_epoch, per_epoch
    model = MODELS[cfg.model_type](cfg.model)
    loader = batches(train_items, cfg.train.batch_size, cfg.train.seed)
    if progress:
        print(f"bAbI {cfg.data.size}, tasks {_task_list(cfg.data.tasks)}: {len(train_items):,} training questions, "
              f"{len(dev_items):,} held out; vocabulary {len(vocab)}; {per_epoch} steps per epoch")
    facts = fit_run(cfg, model, loader, out_dir, started, evaluate_dev=lambda m: _dev_metrics(m, dev_items),
                    save_vocab=lambda d: vocab.save(d / "vocab.json"),
                    progress=progress, resume=resume, callbacks=[PaperSchedule(model, cfg)],
                    curve={"metric": "error"})
    if facts is None:
        return {}
    final = {f"final_{split}_{k}": v for split, items in (("dev", dev_items), ("train", train_items))
             for k, v in score(model, items).items() if k != "task_error"}
    metrics, _ = evaluate(out_dir, data_dir=data_dir)
    return write_metrics(out_dir, metrics, facts, started, **final, n_train=len(train_items), n_dev=len(dev_items),
                         fallback_notes=notes)


def _dev_metrics(model: MemN2N, items: list[StoryItem]) -> dict:
    result = score(model, items)
    return {"loss": result["loss"], "error": result["error"]}


def _task_list(tasks: Sequence[int]) -> str:
    return "1-20" if sorted(tasks) == list(range(1, 21)) else ", ".join(map(str, tasks))


# ---- reading a story: the predictor ------------------------------------------------------------------------------


@dataclass
class Reading:
    """The model's answer to a question about a story, and where each hop looked."""

    question: str
    answer: str
    probability: float
    sentences: list[str]  # the story as held in memory (the oldest dropped past memory_size)
    hops: list[list[float]]  # (K, M): hop k's weight on each sentence
    dropped: int = 0  # sentences dropped from the start of the story
    unknown: list[str] = field(default_factory=list)  # question words the model never saw

    def lines(self, top: int = 3) -> list[str]:
        """The answer, then per hop the ``top`` sentences it attended most, with their weights."""
        out = [f"{self.answer}\t{self.probability:.4f}"]
        for k, weights in enumerate(self.hops, 1):
            best = sorted(range(len(weights)), key=lambda i: -weights[i])[:top]
            out.append(f"  hop {k}: " + "  ".join(f"{weights[i]:.2f} [{i + 1 + self.dropped}] {self.sentences[i]}"
                                                for i in best))
        return out

    def plot(self, path: str | Path, *, truth: str | None = None) -> None:
        """The paper's Figure 2 for this question: sentences as rows, hops as columns, shaded by weight."""
        from seqlab.viz import plot_memory_hops

        labels = [f"{i + 1 + self.dropped}. {s}" for i, s in enumerate(self.sentences)]
        plot_memory_hops(self.hops, labels, path, question=self.question, answer=self.answer, truth=truth)


class StoryReader:
    """A trained memory network: ``answer(story_sentences, question)`` -> Reading; ``read_story(path)`` reads a
    story file (one sentence per line, bAbI's numbered lines accepted)."""

    def __init__(self, model: MemN2N, vocab: Vocab, config: RunConfig):
        self.model, self.vocab, self.config = model.eval(), vocab, config

    @torch.no_grad()
    def answer(self, story: Sequence[str], question: str) -> Reading:
        memory_size = self.config.model.memory_size
        story = [s.strip() for s in story if words(s)]
        if not story:
            raise SeqlabError("the story is empty: give at least one sentence")
        asked = words(question)
        if not asked:
            raise SeqlabError(f"the question {question!r} has no words")
        dropped = max(0, len(story) - memory_size)
        if dropped:
            warnings.warn(f"the story has {len(story)} sentences, more than the memory holds ({memory_size}): the "
                          f"oldest {dropped} were dropped", stacklevel=2)
        kept = story[dropped:]
        unknown = [w for w in asked if w not in self.vocab]
        if unknown:
            which = ("none of the question's words is in" if len(unknown) == len(asked)
                     else "some of the question's words are not in")
            warnings.warn(f"{which} the model's vocabulary: {', '.join(unknown)} (read as unknown)", stacklevel=2)
        item = encode(BabiQuestion(story=kept, question=question, answer=""), 0, self.vocab, memory_size)
        batch = collate([item])
        device = next(self.model.parameters()).device
        logits, hops = self.model.attend(batch["story"].to(device), batch["question"].to(device))
        probs = logits.float().softmax(-1)[0]
        best = int(probs.argmax())
        return Reading(question=question, answer=self.vocab.tokens[best], probability=float(probs[best]),
                       sentences=kept, hops=hops[0].tolist(), dropped=dropped, unknown=unknown)

    def read_story(self, path: str | Path) -> list[str]:
        return read_story(path)


def read_story(path: str | Path) -> list[str]:
    """A story file: one sentence per line, optionally numbered as bAbI's ("1 Mary moved to the bathroom."); blank
    lines are skipped. A question line (bAbI's tab-separated ones), a line without words or numbers that do not run
    1, 2, 3 ... is refused, naming the file and line."""
    from seqlab.data.formats import DataFormatError, iter_lines

    path = Path(path)
    if not path.is_file():
        raise SeqlabError(f"--story {path}: {'not a regular file' if path.exists() else 'no such file'}")
    sentences, numbered = [], None
    for lineno, line in iter_lines(path):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        if "\t" in line:
            raise DataFormatError(f"{where}: a question line (tab-separated); a story file holds sentences only, "
                                  "ask the question as the argument")
        number, _, rest = line.strip().partition(" ")
        is_numbered = number.isdigit() and bool(rest)
        numbered = is_numbered if numbered is None else numbered
        if is_numbered != numbered:
            raise DataFormatError(f"{where}: {'numbered' if is_numbered else 'unnumbered'} line in a story whose "
                                  f"lines are {'numbered' if numbered else 'not numbered'}")
        if numbered and int(number) != len(sentences) + 1:
            raise DataFormatError(f"{where}: sentence number {number}, expected {len(sentences) + 1}")
        sentence = rest if numbered else line.strip()
        if not words(sentence):
            raise DataFormatError(f"{where}: no words in this sentence")
        sentences.append(sentence)
    if not sentences:
        raise SeqlabError(f"{path}: the story is empty")
    return sentences


def load_predictor(run_dir: Path, cfg: RunConfig, *, device: str = "cpu") -> StoryReader:
    vocab = Vocab.from_dict(read_run_json(run_dir, "vocab.json"))
    if cfg.model.vocab_size != len(vocab):
        raise SeqlabError(f"{run_dir}: vocab.json holds {len(vocab)} words, the config's model {cfg.model.vocab_size}")
    model = MODELS[cfg.model_type](cfg.model)
    load_weights(model, weights_file(run_dir))
    return StoryReader(model.to(device), vocab, cfg)


# ---- evaluation --------------------------------------------------------------------------------------------------


def evaluate(run_dir: str | Path, *, split: str = "test", data_dir: str | Path | None = None, beam_size: int = 1,
             out_dir: str | Path | None = None) -> tuple[dict, ReportParts]:
    """Error per task, mean error and failed tasks (error > 5%) on the test questions of the run's tasks, with the
    attention per hop of an example of a few tasks plotted as the paper's Figure 2."""
    from seqlab.tasks import load_run

    if split not in ("test", "train"):
        raise SeqlabError(f"bAbI has train and test splits (validation is held out of train), not {split!r}")
    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir is not None else run_dir
    reader: StoryReader = load_run(run_dir)
    cfg = reader.config
    questions = {t: load_task(t, split, cfg, data_dir) for t in cfg.data.tasks}
    items = [encode(q, t, reader.vocab, cfg.model.memory_size) for t, qs in questions.items() for q in qs]
    result = score(reader.model, items)
    task_error = {str(t): e for t, e in result["task_error"].items()}
    failed = [t for t, e in task_error.items() if e > FAILED_ABOVE]
    metrics = {"split": split, "dataset": f"babi {cfg.data.size}", "mean_error": sum(task_error.values()) / len(
        task_error), "failed_tasks": len(failed), "failed": failed, "task_error": task_error,
        "error": result["error"], "loss": result["loss"], "questions": len(items)}
    parts = ReportParts(title=f"bAbI {cfg.data.size} {split}: MemN2N ({cfg.model.hops} hops, d={cfg.model.dim}, "
                              f"{cfg.model.encoding.upper()}), tasks {_task_list(cfg.data.tasks)}")
    parts.table = [{"task": f"qa{t}", "error %": round(100 * e, 1), "failed": e > FAILED_ABOVE}
                   for t, e in task_error.items()]
    parts.table_title = "Test error per task (failed: error > 5%)"
    parts.examples, parts.examples_title = [], "An example per plotted task"
    for task in [t for t in PLOTTED_TASKS if t in questions] or list(questions)[:1]:
        q = next((q for q in questions[task] if len(q.story) >= 6), questions[task][0])  # a story worth a look
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reading = reader.answer(q.story, q.question)
        name = f"memory_hops_qa{task}.png"
        reading.plot(out_dir / name, truth=q.answer)
        parts.plots[f"qa{task}: attention per hop"] = name
        parts.examples.append({"task": f"qa{task}", "question": q.question, "answer": reading.answer,
                               "correct": q.answer, "supporting": ", ".join(str(i + 1) for i in q.supporting)})
    if (run_dir / "learning_curve.png").is_file() and out_dir == run_dir:
        parts.plots["Learning curve (training run)"] = "learning_curve.png"
    return metrics, parts
