"""The typed run configs of every task, torch-free: ``seqlab train X --print-config`` and every check of a
config happen before PyTorch is imported and before any data are read. Each task module (``seqlab.tasks.dates``
...) takes its ``RunConfig`` from here; ``seqlab.tasks.run_config_class`` finds one by the task's name.

Every value that can be checked before training is checked here, when the config is built: names and ranges,
and ``train.early_stopping.metric`` against the metrics the task's dev evaluation reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from seqlab.models.config import (
    BertConfig,
    BertFinetuneConfig,
    BoWFeaturesConfig,
    BoWMLPConfig,
    CNNLSTMConfig,
    ElmoConfig,
    ElmoFeaturesConfig,
    GPTConfig,
    KerasSeriesConfig,
    MemN2NConfig,
    ResNet1DConfig,
    RNNClassifierConfig,
    RNNLMConfig,
    RNNTaggerConfig,
    Seq2SeqConfig,
    SeriesLSTMConfig,
    SeriesTransformerConfig,
    SmallCNNConfig,
    TransformerConfig,
    TransformerXLConfig,
    ViTConfig,
    Word2VecConfig,
)
from seqlab.training.config import OptimConfig, TrainConfig, check_early_stopping

# ---- classify: sentiment ---------------------------------------------------------------------------------------------

EMBEDDINGS = ("learned", "minilm", "minilm-frozen")
LABEL_NAMES = {"sst2": ["negative", "positive"], "imdb": ["negative", "positive"]}
MODEL_TYPES = ("nb", "logreg", "mlp", "rnn", "bert")  # seqlab.tasks.classify.MODELS


@dataclass
class ClassifyData:
    dataset: str = "sst2"  # sst2 | imdb
    train_split: str = "train"
    test_split: str = "validation"  # SST-2's test labels are not public: its dev set is the reported split
    dev_fraction: float = 0.02  # of train, held out for early stopping and model selection
    lowercase: bool = True
    max_tokens: int = 400  # longer texts keep their first and last max_tokens/2 tokens (RNN, BERT: pieces in all)
    min_freq: int = 2  # RNN word vocabulary
    max_vocab: int | None = 50000
    # RNN input: "learned" = a word vocabulary and embeddings from scratch; "minilm" = MiniLM's WordPiece
    # tokens with its pretrained 384-d token embeddings as the start (fine-tuned; "minilm-frozen": kept fixed)
    embeddings: str = "learned"
    # "learned" only: a word2vec / GloVe file (seqlab vectors formats) to start the embeddings from; its words join
    # the vocabulary; embed_dim becomes its dimension
    pretrained_vectors: str = ""
    freeze_vectors: bool = False  # keep the pretrained vectors fixed (else fine-tuned with the model)

    def __post_init__(self) -> None:
        if self.pretrained_vectors and self.embeddings != "learned":
            raise ValueError("pretrained_vectors needs embeddings: learned (MiniLM's embeddings are pretrained)")
        if self.embeddings not in EMBEDDINGS:
            raise ValueError(f"embeddings must be one of {', '.join(EMBEDDINGS)}, got {self.embeddings!r}")
        if self.dataset not in LABEL_NAMES:
            raise ValueError(f"dataset must be one of {', '.join(LABEL_NAMES)}, got {self.dataset!r}")
        if self.max_tokens < 2 or self.min_freq < 1:
            raise ValueError("max_tokens must be at least 2 and min_freq at least 1")


@dataclass
class NBConfig:
    alpha: float = 1.0  # Laplace (1) / Lidstone smoothing


@dataclass
class LogRegConfig:
    C: float = 1.0  # inverse L2 strength, as scikit-learn's
    max_iter: int = 200


@dataclass
class ClassifyRunConfig:
    task: str = "classify"
    model_type: str = "rnn"  # nb | logreg | mlp | rnn | bert
    data: ClassifyData = field(default_factory=ClassifyData)
    features: BoWFeaturesConfig = field(default_factory=lambda: BoWFeaturesConfig(input="binary", ngram_range=(1, 2)))
    nb: NBConfig = field(default_factory=NBConfig)
    logreg: LogRegConfig = field(default_factory=LogRegConfig)
    mlp: BoWMLPConfig = field(default_factory=BoWMLPConfig)
    rnn: RNNClassifierConfig = field(default_factory=RNNClassifierConfig)
    elmo: ElmoFeaturesConfig = field(default_factory=ElmoFeaturesConfig)  # rnn: ELMo vectors beside the words'
    bert: BertFinetuneConfig = field(default_factory=BertFinetuneConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=2e-3, schedule="linear", warmup_steps=100))
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=3000, batch_size=64, eval_every=250))

    def __post_init__(self) -> None:
        if self.model_type not in MODEL_TYPES:
            raise ValueError(f"model_type must be one of {', '.join(MODEL_TYPES)}, got {self.model_type!r}")
        if self.elmo.enabled and self.model_type != "rnn":
            raise ValueError(f"elmo.bilm adds ELMo vectors to the rnn model; model_type {self.model_type} has none")
        if self.elmo.enabled and self.data.embeddings != "learned":
            raise ValueError("elmo.bilm joins ELMo vectors to word embeddings: use data.embeddings=learned")
        if self.model_type == "bert" and self.data.max_tokens > self.bert.model.max_positions:
            raise ValueError(f"data.max_tokens={self.data.max_tokens} exceeds BERT's "
                             f"{self.bert.model.max_positions} positions")
        check_early_stopping(self.train, {"accuracy": "max"}, f"classify ({self.model_type})")

# ---- dates: the demo -------------------------------------------------------------------------------------------------

@dataclass
class DatesData:
    n_dev: int = 500
    n_test: int = 2000
    dev_seed: int = 1001
    test_seed: int = 2002
    max_target_len: int = 12  # "YYYY-MM-DD" + <eos>, with room to spare

    def __post_init__(self) -> None:
        if self.n_dev < 1 or self.n_test < 1:
            raise ValueError("n_dev and n_test must be at least 1")
        if self.max_target_len < 11:
            raise ValueError("max_target_len must be at least 11 (YYYY-MM-DD and <eos>)")


def demo_model() -> TransformerConfig:
    return TransformerConfig(d_model=128, n_heads=4, d_ff=512, n_encoder_layers=2, n_decoder_layers=2,
                             dropout=0.0, max_len=64, share_embeddings=True, label_smoothing=0.0)


def demo_optim() -> OptimConfig:
    return OptimConfig(lr=2e-3, warmup_steps=100, schedule="cosine", weight_decay=0.01)


def demo_train() -> TrainConfig:
    return TrainConfig(steps=1600, batch_size=128, eval_every=100, log_every=20)


@dataclass
class DatesRunConfig:
    task: str = "dates"
    model: TransformerConfig = field(default_factory=demo_model)
    optim: OptimConfig = field(default_factory=demo_optim)
    train: TrainConfig = field(default_factory=demo_train)
    data: DatesData = field(default_factory=DatesData)
    stop_at_dev_exact_match: float | None = 1.0  # early stopping: dev accuracy reached twice in a row

    def __post_init__(self) -> None:
        check_early_stopping(self.train, {"exact_match": "max", "loss": "min"}, "dates")

# ---- lm: language modelling ------------------------------------------------------------------------------------------

LEVELS = {"tinyshakespeare": "char", "wikitext-2": "word"}  # each dataset's own unit of text
TOKENIZERS = ("auto", "char", "word", "bpe")  # auto: the dataset's level; bpe: byte-level BPE (GPT-2's kind)
LM_MODELS = ("rnn", "gpt", "xl", "elmo")  # seqlab.tasks.lm.MODELS
SAMPLE_PROMPT = "To be or not to be"
LECTURE_PROMPT = "Once upon a time in a faraway land,"  # the lectures' GPT prompt


@dataclass
class LMData:
    dataset: str = "tinyshakespeare"  # tinyshakespeare (characters) | wikitext-2 (words)
    tokenizer: str = "auto"  # auto (the dataset's level) | char | word | bpe (byte-level, trained on train)
    bpe_vocab_size: int = 8192  # tokenizer: bpe
    seq_len: int = 128  # tokens per training window (backpropagation through time; a GPT's context)
    eval_batch_size: int = 16  # rows the evaluation stream is cut into
    eval_stride: int = 0  # GPT evaluation: windows start every eval_stride tokens (0: = seq_len, no overlap)
    # random: windows drawn anywhere, each from a fresh state | stream: the stream cut into batch_size rows read in
    # order, the state (an RNN's, Transformer-XL's memory) carried from batch to batch
    train_order: str = "random"

    def __post_init__(self) -> None:
        if self.dataset not in LEVELS:
            raise ValueError(f"dataset must be one of {', '.join(LEVELS)}, got {self.dataset!r}")
        if self.tokenizer not in TOKENIZERS:
            raise ValueError(f"tokenizer must be one of {', '.join(TOKENIZERS)}, got {self.tokenizer!r}")
        if self.seq_len < 2 or self.eval_batch_size < 1:
            raise ValueError("seq_len must be at least 2 and eval_batch_size at least 1")
        if self.bpe_vocab_size < 260:
            raise ValueError(f"bpe_vocab_size must be at least 260 (256 bytes and the specials), got "
                             f"{self.bpe_vocab_size}")
        if self.train_order not in ("random", "stream"):
            raise ValueError(f"train_order must be 'random' or 'stream', got {self.train_order!r}")
        if not 0 <= self.eval_stride <= self.seq_len:
            raise ValueError(f"eval_stride must lie in [0, seq_len={self.seq_len}], got {self.eval_stride}")

    @property
    def level(self) -> str:
        """char | word | bpe: what one token is."""
        return LEVELS[self.dataset] if self.tokenizer == "auto" else self.tokenizer


@dataclass
class SampleConfig:
    """The samples written to metrics.json after training (and the defaults of ``seqlab generate``)."""

    prompt: str = SAMPLE_PROMPT
    more_prompts: list[str] = field(default_factory=lambda: [LECTURE_PROMPT])  # sampled too, n each
    max_new_tokens: int = 300
    temperature: float = 0.8
    top_k: int | None = None
    top_p: float | None = None
    n: int = 3
    seed: int = 0


def default_gpt() -> GPTConfig:
    """minGPT's gpt-micro (4 layers, 4 heads, d=128); the context is data.seq_len, the vocabulary the data's."""
    return GPTConfig(n_layers=4, n_heads=4, d_model=128, n_positions=128, dropout=0.0)


@dataclass
class LMRunConfig:
    task: str = "lm"
    # rnn (the ``model`` section) | gpt (``gpt``) | xl (``xl``) | elmo (``elmo``: ELMo's bidirectional LM)
    model_type: str = "rnn"
    data: LMData = field(default_factory=LMData)
    model: RNNLMConfig = field(default_factory=RNNLMConfig)
    gpt: GPTConfig = field(default_factory=default_gpt)
    xl: TransformerXLConfig = field(default_factory=TransformerXLConfig)
    elmo: ElmoConfig = field(default_factory=ElmoConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=2e-3, schedule="cosine", warmup_steps=200))
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=5000, batch_size=64, eval_every=500))
    sample: SampleConfig = field(default_factory=SampleConfig)

    def __post_init__(self) -> None:
        if self.model_type not in LM_MODELS:
            raise ValueError(f"model_type must be one of {', '.join(LM_MODELS)}, got {self.model_type!r}")
        if self.model_type == "gpt" and self.gpt.n_positions < self.data.seq_len:
            raise ValueError(f"gpt.n_positions={self.gpt.n_positions} must be at least data.seq_len="
                             f"{self.data.seq_len} (the training windows)")
        if self.model_type == "gpt" and self.data.train_order == "stream":
            raise ValueError("data.train_order=stream carries a state from batch to batch: an rnn's or an xl's; "
                             "a gpt has none (use random)")
        if self.model_type == "elmo" and self.data.level != "word":
            raise ValueError(f"an elmo biLM reads words (its downstream tasks give it words, spelled out): use "
                             f"wikitext-2 at the word level, not {self.data.dataset} at the {self.data.level} level")
        if self.model_type == "elmo" and self.data.train_order != "random":
            raise ValueError("an elmo biLM trains on random windows (data.train_order=random): its backward LM "
                             "cannot carry a state forward through the stream")
        if self.model_type == "xl" and self.data.train_order != "stream":
            raise ValueError("an xl trains with its memory: set data.train_order=stream (random windows would reset "
                             "the memory at every batch, and evaluation would read a memory it never trained with)")
        if self.data.train_order == "stream" and self.train.grad_accum_steps > 1:
            raise ValueError("data.train_order=stream carries each row's state to the next batch, and micro-batches "
                             "split the rows: use train.grad_accum_steps=1")
        check_early_stopping(self.train, {"loss": "min"}, "lm")

    @property
    def network_section(self) -> str:
        """The recipe section of the model this run trains."""
        return {"rnn": "model", "gpt": "gpt", "xl": "xl", "elmo": "elmo"}[self.model_type]

    @property
    def network(self) -> RNNLMConfig | GPTConfig | TransformerXLConfig | ElmoConfig:
        """The config of the model this run trains."""
        return getattr(self, self.network_section)

# ---- mlm: BERT pre-training ------------------------------------------------------------------------------------------

MLM_METRICS = {"mlm_accuracy": "max", "nsp_accuracy": "max", "mlm_loss": "min"}


def small_bert() -> BertConfig:
    return BertConfig.from_name("bert-mini", max_positions=128)


@dataclass
class MLMData:
    dataset: str = "wikitext-2"  # a seqlab.data text corpus (articles start at " = Title = " lines) ...
    train_file: str = ""  # ... or plain text, BERT's format: one sentence per line, a blank line between documents
    validation_file: str = ""
    test_file: str = ""
    vocab: str = ""  # "": WordPiece trained on the train split; else an existing vocab.txt or tokenizer.json
    vocab_size: int = 16000
    lowercase: bool = True
    max_pieces: int = 128  # [CLS] A [SEP] B [SEP]
    short_seq_prob: float = 0.1  # pairs cut shorter than max_pieces, so short inputs are seen too
    nsp: bool = True  # next-sentence prediction (50% IsNext); False: MLM on single segments (RoBERTa)
    mlm_probability: float = 0.15
    eval_pairs: int = 2000  # the dev evaluation during training reads this many validation pairs
    pair_seed: int = 12345  # the pairs and the evaluation masks are fixed by this seed

    def __post_init__(self) -> None:
        if not 0 < self.mlm_probability < 1 or not 0 <= self.short_seq_prob <= 1:
            raise ValueError("mlm_probability must lie in (0, 1) and short_seq_prob in [0, 1]")
        if self.max_pieces < 8 or self.vocab_size < 100 or self.eval_pairs < 1:
            raise ValueError("max_pieces must be at least 8, vocab_size at least 100, eval_pairs at least 1")
        if bool(self.validation_file) != bool(self.train_file):
            raise ValueError("give data.train_file and data.validation_file together")


@dataclass
class MLMRunConfig:
    task: str = "mlm"
    data: MLMData = field(default_factory=MLMData)
    model: BertConfig = field(default_factory=small_bert)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=5e-4, betas=(0.9, 0.999), eps=1e-6,
                                                                   schedule="linear", warmup_steps=500,
                                                                   weight_decay=0.01))
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=10000, batch_size=64, eval_every=500))

    def __post_init__(self) -> None:
        if self.data.max_pieces > self.model.max_positions:
            raise ValueError(f"data.max_pieces={self.data.max_pieces} exceeds model.max_positions="
                             f"{self.model.max_positions}")
        check_early_stopping(self.train, MLM_METRICS, "mlm")


# ---- tag: POS and NER ------------------------------------------------------------------------------------------------

TAG_FIELDS = {"ud-english-ewt": ("upos", "xpos"), "conll2003": ("ner", "pos", "chunk")}
SPAN_FIELDS = ("ner", "chunk")  # scored by entity span F1; the others by token accuracy


@dataclass
class TagData:
    dataset: str = "ud-english-ewt"  # ud-english-ewt | conll2003
    tag_field: str = "upos"  # ud: upos | xpos; conll2003: ner | pos | chunk
    scheme: str = "iobes"  # conll2003 spans: iob1 | iob2 | iobes (IOBES helps a CRF; scored the same)
    lowercase_words: bool = True
    zero_digits: bool = False  # every digit becomes 0 in the word lookup ("1996" and "1997" share a vector)
    min_freq: int = 1
    singleton_unk: float = 0.5  # training only: a word seen once becomes <unk> with this probability
    max_tokens: int = 250  # longer inputs are truncated (with a warning) when predicting
    max_word_chars: int = 30  # characters kept per word for the character features
    # the BiLSTM's word embeddings start from a word2vec / GloVe file; its words join the vocabulary (read as the
    # lookup reads words: lower-cased, digits as 0); model.embed_dim becomes its dimension
    pretrained_vectors: str = ""
    freeze_vectors: bool = False

    def __post_init__(self) -> None:
        if self.dataset not in TAG_FIELDS:
            raise ValueError(f"dataset must be one of {', '.join(TAG_FIELDS)}, got {self.dataset!r}")
        if self.tag_field not in TAG_FIELDS[self.dataset]:
            raise ValueError(f"{self.dataset} tag_field must be one of {', '.join(TAG_FIELDS[self.dataset])}")
        if not 0 <= self.singleton_unk < 1:
            raise ValueError(f"singleton_unk must lie in [0, 1), got {self.singleton_unk}")


TAG_MODELS = ("rnn", "bert", "bert-features")  # seqlab.tasks.tag.MODELS


@dataclass
class TagRunConfig:
    task: str = "tag"
    # rnn: the BiLSTM of ``model``; bert: a pretrained BERT fine-tuned (``bert``); bert-features: the BiLSTM of
    # ``model`` over a frozen BERT's layers (``bert.features``)
    model_type: str = "rnn"
    data: TagData = field(default_factory=TagData)
    model: RNNTaggerConfig = field(default_factory=RNNTaggerConfig)
    elmo: ElmoFeaturesConfig = field(default_factory=ElmoFeaturesConfig)  # rnn: ELMo vectors beside the words'
    bert: BertFinetuneConfig = field(default_factory=BertFinetuneConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=2e-3, schedule="linear", warmup_steps=100))
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=4000, batch_size=32, eval_every=500))

    @property
    def dev_metric(self) -> str:
        return "f1" if self.data.tag_field in SPAN_FIELDS else "accuracy"

    def __post_init__(self) -> None:
        if self.model_type not in TAG_MODELS:
            raise ValueError(f"model_type must be one of {', '.join(TAG_MODELS)}, got {self.model_type!r}")
        if self.elmo.enabled and self.model_type != "rnn":
            raise ValueError(f"elmo.bilm adds ELMo vectors to the rnn model; model_type {self.model_type} has none")
        if self.model_type != "rnn" and self.data.max_tokens > self.bert.model.max_positions - 2:
            raise ValueError(f"data.max_tokens={self.data.max_tokens} words cannot fit BERT's "
                             f"{self.bert.model.max_positions} positions with [CLS] and [SEP]")
        check_early_stopping(self.train, {self.dev_metric: "max"}, f"tag ({self.data.tag_field})")

# ---- translate: Multi30k ---------------------------------------------------------------------------------------------

MODEL_FAMILIES = ("transformer", "rnn")  # seqlab.tasks.translate.MODELS
VOCABS = ("bpe", "word")
LANGUAGES = ("de", "en", "fr")
# The alignment plots' sentence when the config names none: test2016 sentence 4 in the source language (the
# lecture's figure aligns a French sentence with English; this one has German's verb-late word order).
EXAMPLES = {
    "de": "Fünf Leute in Winterjacken und mit Helmen stehen im Schnee mit Schneemobilen im Hintergrund.",
    "en": "Five people wearing winter jackets and helmets stand in the snow, with snowmobiles in the background.",
    "fr": "Cinq personnes avec des vestes d'hiver et des casques sont debout dans la neige, avec des motoneiges "
          "en arrière-plan.",
}


@dataclass
class TranslateData:
    dataset: str = "multi30k"
    source: str = "de"
    target: str = "en"
    vocab: str = "bpe"  # bpe: one joint byte-pair vocabulary | word: a word vocabulary per language
    vocab_size: int = 8000  # bpe: the joint vocabulary's size; word: at most this many words per language
    min_freq: int = 2  # a word or merge must be seen this often in training
    lowercase: bool = False
    max_tokens: int = 128  # longest source read; longer inputs are truncated with a warning
    max_output_tokens: int = 128  # decoding stops here if no <eos> came
    test_split: str = "test"  # Multi30k test2016 (flickr)
    eval_beam: int = 5  # the beam of the reported test BLEU (greedy is reported too)
    alpha: float = 0.6  # GNMT length penalty of the beam search
    example: str = ""  # the sentence of the alignment plots; "" = EXAMPLES[source]

    def __post_init__(self) -> None:
        if self.dataset != "multi30k":
            raise ValueError(f"dataset must be 'multi30k', got {self.dataset!r}")
        for side in (self.source, self.target):
            if side not in LANGUAGES:
                raise ValueError(f"languages are {', '.join(LANGUAGES)}, got {side!r}")
        if self.source == self.target:
            raise ValueError("source and target must be different languages")
        if self.vocab not in VOCABS:
            raise ValueError(f"vocab must be one of {', '.join(VOCABS)}, got {self.vocab!r}")
        if self.max_tokens < 1 or self.max_output_tokens < 1 or self.eval_beam < 1:
            raise ValueError("max_tokens, max_output_tokens and eval_beam must be at least 1")
        self.example = self.example or EXAMPLES[self.source]


def default_transformer() -> TransformerConfig:
    """About 9M parameters with an 8k joint BPE vocabulary (pytorch-seq2seq tutorial 6 has 9.0M)."""
    return TransformerConfig(d_model=256, n_heads=8, d_ff=1024, n_encoder_layers=3, n_decoder_layers=3,
                             dropout=0.1, max_len=256, share_embeddings=True, label_smoothing=0.1)


@dataclass
class TranslateRunConfig:
    task: str = "translate"
    model_type: str = "transformer"  # transformer | rnn
    data: TranslateData = field(default_factory=TranslateData)
    transformer: TransformerConfig = field(default_factory=default_transformer)
    rnn: Seq2SeqConfig = field(default_factory=Seq2SeqConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=1e-3, schedule="inverse_sqrt",
                                                                  warmup_steps=1000))
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=8000, batch_size=128, eval_every=1000))

    def __post_init__(self) -> None:
        if self.model_type not in MODEL_FAMILIES:
            raise ValueError(f"model_type must be one of {', '.join(MODEL_FAMILIES)}, got {self.model_type!r}")
        check_early_stopping(self.train, {"bleu": "max"}, "translate")

    @property
    def model(self) -> TransformerConfig | Seq2SeqConfig:
        return self.transformer if self.model_type == "transformer" else self.rnn


# ---- word2vec: static word vectors -----------------------------------------------------------------------------------

W2V_TOKENIZERS = ("words", "whitespace")


@dataclass
class Word2VecData:
    """The corpus: the ``split`` of seqlab.data text datasets, plain text files (a sentence or paragraph per line,
    .gz read too), or both, one after the other."""

    datasets: list[str] = field(default_factory=lambda: ["wikitext-2", "imdb"])
    files: list[str] = field(default_factory=list)
    split: str = "train"
    lowercase: bool = True
    tokenizer: str = "words"  # words: seqlab.text.word_tokenize (punctuation split off) | whitespace

    def __post_init__(self) -> None:
        if self.tokenizer not in W2V_TOKENIZERS:
            raise ValueError(f"tokenizer must be one of {', '.join(W2V_TOKENIZERS)}, got {self.tokenizer!r}")
        if not self.datasets and not self.files:
            raise ValueError("give data.datasets or data.files: the corpus is empty")


@dataclass
class Word2VecEvalConfig:
    restrict: int = 30000  # analogies: the most frequent words searched (word2vec's compute-accuracy, gensim's)
    neighbours: list[str] = field(default_factory=lambda: ["king", "france", "good", "movie", "computer", "red"])

    def __post_init__(self) -> None:
        if self.restrict < 2:
            raise ValueError("eval.restrict must be at least 2")


@dataclass
class Word2VecRunConfig:
    task: str = "word2vec"
    data: Word2VecData = field(default_factory=Word2VecData)
    model: Word2VecConfig = field(default_factory=Word2VecConfig)
    eval: Word2VecEvalConfig = field(default_factory=Word2VecEvalConfig)


# ---- babi: question answering on stories with a memory network ------------------------------------------------------

BABI_SIZES = ("1k", "10k")


@dataclass
class BabiData:
    """The bAbI tasks trained on: one (per-task training) or several (joint training: one model, one vocabulary).
    10% of each task's training questions are held out for validation (the linear start and model selection)."""

    tasks: list[int] = field(default_factory=lambda: list(range(1, 21)))
    size: str = "1k"  # 1k | 10k training questions per task (the test sets are the same)
    dev_fraction: float = 0.1
    # 10k only: a task whose 10k training file is missing (qa3 in ../shared/data) trains on its 1k file instead
    # (said in the run's metrics); false: refuse
    fallback_to_1k: bool = True

    def __post_init__(self) -> None:
        self.tasks = [int(t) for t in self.tasks]
        if not self.tasks or any(not 1 <= t <= 20 for t in self.tasks) or len(set(self.tasks)) != len(self.tasks):
            raise ValueError(f"tasks must be distinct bAbI task numbers 1-20, got {self.tasks}")
        if self.size not in BABI_SIZES:
            raise ValueError(f"size must be one of {', '.join(BABI_SIZES)}, got {self.size!r}")
        if not 0 < self.dev_fraction < 1:
            raise ValueError(f"dev_fraction must lie strictly between 0 and 1, got {self.dev_fraction}")


@dataclass
class MemN2NSchedule:
    """The paper's schedule in epochs: a linear start (the softmax over the memory removed) that ends when the
    validation loss stops falling (or after ``linear_start_epochs``), then ``epochs`` epochs with the learning rate
    halved every ``halve_every`` epochs (per task: 100 and 25; joint: 60 and 15)."""

    epochs: int = 100
    halve_every: int = 25
    linear_start: bool = True
    linear_start_epochs: int = 20  # at most
    linear_start_patience: int = 5  # epochs without a lower validation loss (it is noisy) that end the linear start

    def __post_init__(self) -> None:
        if min(self.epochs, self.halve_every, self.linear_start_epochs, self.linear_start_patience) < 1:
            raise ValueError("epochs, halve_every, linear_start_epochs and linear_start_patience must be at least 1")


@dataclass
class BabiRunConfig:
    task: str = "babi"
    model_type: str = "memn2n"  # seqlab.tasks.babi.MODELS
    data: BabiData = field(default_factory=BabiData)
    model: MemN2NConfig = field(default_factory=MemN2NConfig)
    schedule: MemN2NSchedule = field(default_factory=MemN2NSchedule)
    # SGD without momentum, as the paper: its rate 0.005 (with the linear start; 0.01 without) and clipping at norm 40
    # are for the loss summed over a batch of 32, so 0.005 x 32 = 0.16 and 40 / 32 = 1.25 for the mean loss
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(name="sgd", lr=0.16, momentum=0.0,
                                                                   schedule="constant", warmup_steps=0))
    # steps and eval_every are set from the schedule's epochs (an evaluation per epoch)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(batch_size=32, clip_grad_norm=1.25,
                                                                   precision="fp32", log_every=100))

    def __post_init__(self) -> None:
        if self.model_type not in ("memn2n",):
            raise ValueError(f"model_type must be memn2n, got {self.model_type!r}")
        if self.optim.schedule != "constant" or self.optim.warmup_steps:
            raise ValueError("the babi task sets the learning rate per epoch itself (schedule.halve_every): "
                             "use optim.schedule=constant and optim.warmup_steps=0")
        check_early_stopping(self.train, {"error": "min", "loss": "min"}, "babi")


# ---- series: time-series classification (the UCR archive) ------------------------------------------------------------

SERIES_MODELS = ("keras", "transformer", "resnet", "cnn_lstm", "lstm")  # seqlab.tasks.series.MODELS
SERIES_NORMALIZE = ("none", "series")


@dataclass
class SeriesData:
    """A UCR dataset: its default train/test split; ``dev_fraction`` of the training series held out at random for
    early stopping (Keras' ``validation_split=0.2`` holds out the last 20%), or, with 0, none: every series trains and
    the training set itself is scored each epoch, so that the weights of lowest training loss are kept (dl-4-tsc's
    protocol, fitting for sets of 20 to 60 series)."""

    dataset: str = "ucr"
    name: str = "GunPoint"
    dev_fraction: float = 0.2
    dev_seed: int = 0  # the held-out series do not change with the training seed
    normalize: str = "none"  # none (the archive's series are z-normalised already) | series (z-normalise each)

    def __post_init__(self) -> None:
        if self.dataset != "ucr":
            raise ValueError(f"dataset must be ucr, got {self.dataset!r}")
        if not 0 <= self.dev_fraction < 1:
            raise ValueError(f"dev_fraction must lie in [0, 1), got {self.dev_fraction}")
        if self.normalize not in SERIES_NORMALIZE:
            raise ValueError(f"normalize must be one of {', '.join(SERIES_NORMALIZE)}, got {self.normalize!r}")


@dataclass
class SeriesRunConfig:
    task: str = "series"
    model_type: str = "transformer"  # keras | transformer | resnet | cnn_lstm | lstm
    data: SeriesData = field(default_factory=SeriesData)
    epochs: int = 150  # train.steps and train.eval_every are set from it (an evaluation per epoch)
    keras: KerasSeriesConfig = field(default_factory=KerasSeriesConfig)
    transformer: SeriesTransformerConfig = field(default_factory=SeriesTransformerConfig)
    resnet: ResNet1DConfig = field(default_factory=ResNet1DConfig)
    cnn_lstm: CNNLSTMConfig = field(default_factory=CNNLSTMConfig)
    lstm: SeriesLSTMConfig = field(default_factory=SeriesLSTMConfig)
    # the Keras example: Adam(1e-4) on batches of 64, early stopping on the validation loss with patience 10
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=1e-4, betas=(0.9, 0.999), eps=1e-7,
                                                                   schedule="constant", warmup_steps=0))
    train: TrainConfig = field(default_factory=lambda: TrainConfig(batch_size=64, clip_grad_norm=None, log_every=50,
                                                                   precision="fp32"))

    def __post_init__(self) -> None:
        if self.model_type not in SERIES_MODELS:
            raise ValueError(f"model_type must be one of {', '.join(SERIES_MODELS)}, got {self.model_type!r}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        check_early_stopping(self.train, {"loss": "min", "accuracy": "max"}, "series")

    @property
    def model(self):
        """The config of the chosen model."""
        return getattr(self, self.model_type)


# ---- image: the Vision Transformer and its CNN baseline --------------------------------------------------------------

IMAGE_DATASETS = ("digits", "lfw_subset")  # scikit-learn's load_digits, scikit-image's lfw_subset (inside the packages)
IMAGE_MODELS = ("vit", "cnn")  # seqlab.tasks.image.MODELS


@dataclass
class ImageData:
    """Images that ship inside packages (no download): a fixed, stratified test split (``test_fraction``,
    ``split_seed``), and ``dev_fraction`` of the rest held out for early stopping, or, with 0, none: every other image
    trains and the training set itself is scored each epoch (for the learning curve)."""

    dataset: str = "digits"
    test_fraction: float = 0.2
    dev_fraction: float = 0.1
    split_seed: int = 0
    augment: bool = False  # random shifts of up to one pixel in training (both models)

    def __post_init__(self) -> None:
        if self.dataset not in IMAGE_DATASETS:
            raise ValueError(f"dataset must be one of {', '.join(IMAGE_DATASETS)}, got {self.dataset!r}")
        if not 0 < self.test_fraction < 1 or not 0 <= self.dev_fraction < 1:
            raise ValueError("test_fraction must lie strictly between 0 and 1, dev_fraction in [0, 1)")


@dataclass
class ImageRunConfig:
    task: str = "image"
    model_type: str = "vit"  # vit | cnn
    data: ImageData = field(default_factory=ImageData)
    epochs: int = 100
    vit: ViTConfig = field(default_factory=ViTConfig)
    cnn: SmallCNNConfig = field(default_factory=SmallCNNConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                                                                   weight_decay=0.05, schedule="cosine",
                                                                   warmup_steps=100, min_lr_ratio=0.0))
    train: TrainConfig = field(default_factory=lambda: TrainConfig(batch_size=64, clip_grad_norm=1.0, log_every=50,
                                                                   precision="fp32"))

    def __post_init__(self) -> None:
        if self.model_type not in IMAGE_MODELS:
            raise ValueError(f"model_type must be one of {', '.join(IMAGE_MODELS)}, got {self.model_type!r}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        check_early_stopping(self.train, {"loss": "min", "accuracy": "max"}, "image")

    @property
    def model(self):
        return getattr(self, self.model_type)


# ---- forecast: windowed series, next-value and multi-step forecasts (seqlab.tasks.forecast) --------------------------

FORECAST_SEASONS = {"co2": 12, "sunspots": 11}  # series inside statsmodels -> its season in steps (months; the cycle)
FORECAST_TARGETS = ("value", "change")


@dataclass
class ForecastData:
    """A long series that ships inside statsmodels, cut into (window, features) inputs and the next ``horizon``
    values: the last ``test_size`` steps are the held-out tail, the ``dev_size`` before them decide early stopping,
    the rest trains (and sets the scaler's mean and std)."""

    dataset: str = "co2"  # co2 (Mauna Loa, monthly means 1958-2001, ppm) | sunspots (yearly means 1700-2008)
    window: int = 48  # steps the model reads
    horizon: int = 12  # steps forecast at once (Dense(horizon)); the next value is step 1
    test_size: int = 60
    dev_size: int = 60
    calendar: bool = False  # co2: the sin and cos of the month beside the value (3 features a step, not 1)
    target: str = "value"  # value: the next horizon values | change: their change from the window's last value

    def __post_init__(self) -> None:
        if self.dataset not in FORECAST_SEASONS:
            raise ValueError(f"dataset must be one of {', '.join(FORECAST_SEASONS)}, got {self.dataset!r}")
        if self.target not in FORECAST_TARGETS:
            raise ValueError(f"target must be one of {', '.join(FORECAST_TARGETS)}, got {self.target!r}")
        if min(self.window, self.horizon) < 1:
            raise ValueError("window and horizon must be at least 1")
        if min(self.test_size, self.dev_size) < self.horizon:
            raise ValueError(f"test_size and dev_size must hold at least one horizon ({self.horizon} steps)")
        if self.calendar and self.dataset != "co2":
            raise ValueError("calendar features are months: only co2 has them (the sunspot cycle is no calendar)")

    @property
    def season(self) -> int:
        return FORECAST_SEASONS[self.dataset]

    @property
    def features(self) -> int:
        return 3 if self.calendar else 1


@dataclass
class ArimaConfig:
    """The statistical baseline, statsmodels' ARIMA: fitted once on everything before the scored part, then
    extended with each new observation without refitting. The default is the airline model for monthly data."""

    order: tuple[int, int, int] = (0, 1, 1)  # (p, d, q)
    seasonal_order: tuple[int, int, int, int] = (0, 1, 1, 12)  # (P, D, Q, s); (0, 0, 0, 0): none
    maxiter: int = 50  # bounds the fit's time (a fit that stops short says so in the metrics)

    def __post_init__(self) -> None:
        if min(*self.order, *self.seasonal_order) < 0 or self.maxiter < 1:
            raise ValueError("ARIMA orders must not be negative and maxiter must be at least 1")


@dataclass
class ForecastRunConfig:
    task: str = "forecast"
    model_type: str = "lstm"  # seqlab.tasks.forecast.MODELS
    data: ForecastData = field(default_factory=ForecastData)
    epochs: int = 200  # train.steps and train.eval_every are set from it (an evaluation per epoch)
    # the deck's LSTM(32) then Dense(horizon); features and outputs follow data (filled in here when left unset)
    model: SeriesLSTMConfig = field(default_factory=lambda: SeriesLSTMConfig(hidden=32))
    arima: ArimaConfig = field(default_factory=ArimaConfig)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=1e-3, betas=(0.9, 0.999), eps=1e-7,
                                                                   schedule="constant", warmup_steps=0))
    train: TrainConfig = field(default_factory=lambda: TrainConfig(batch_size=32, precision="fp32", log_every=50))

    def __post_init__(self) -> None:
        if self.model_type != "lstm":
            raise ValueError(f"model_type must be lstm, got {self.model_type!r}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.model.features == 1:  # SeriesLSTMConfig's default: not set
            self.model.features = self.data.features
        self.model.outputs = self.model.outputs or self.data.horizon
        if (self.model.features, self.model.outputs) != (self.data.features, self.data.horizon):
            raise ValueError(f"model.features={self.model.features} and model.outputs={self.model.outputs} must "
                             f"be the data's {self.data.features} features a step and horizon {self.data.horizon} "
                             "(leave them out: they are filled in)")
        check_early_stopping(self.train, {"loss": "min"}, "forecast")
