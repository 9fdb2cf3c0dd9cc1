"""Subword tokenisers (BPE, WordPiece) trained with the Hugging Face ``tokenizers`` library.

    tok = train_bpe(texts, vocab_size=8000)          # Sennrich et al. 2016: merge the most frequent pair
    tok = train_wordpiece(texts, vocab_size=8000)    # BERT's: "##" marks a piece inside a word
    save_tokenizer(tok, "tokenizer.json"); tok = load_tokenizer("tokenizer.json")
    tok.encode("unbelievably good").tokens           # ['un', 'believ', 'ably</w>', 'good</w>'] (BPE)

Both return a ``tokenizers.Tokenizer`` (its own ``encode``/``decode``/``token_to_id``), saved as the
standard ``tokenizer.json``, so a pretrained model's tokenizer (e.g. BERT's, MiniLM's) loads the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

from seqlab.errors import SeqlabError
from seqlab.text.vocab import BOS, EOS, PAD, UNK

BPE_SPECIALS = (PAD, BOS, EOS, UNK)  # ids 0..3, as in every seqlab vocabulary
WORDPIECE_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")  # BERT's, in BERT's order


def _normalizer(lowercase: bool) -> normalizers.Normalizer:
    steps = [normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else [])
    return normalizers.Sequence(steps)


def train_bpe(texts: Iterable[str], vocab_size: int, *, min_frequency: int = 2, lowercase: bool = False,
              specials: Sequence[str] = BPE_SPECIALS) -> Tokenizer:
    """Byte-pair encoding over words (split at spaces and punctuation); "</w>" ends a word's last piece,
    so decoding restores the spaces."""
    tok = Tokenizer(models.BPE(unk_token=UNK if UNK in specials else None, end_of_word_suffix="</w>"))
    tok.normalizer = _normalizer(lowercase)
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.BPEDecoder(suffix="</w>")
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                  special_tokens=list(specials), end_of_word_suffix="</w>", show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return tok


def train_reversible(texts: Iterable[str], vocab_size: int, *, model: str = "bpe", min_frequency: int = 2,
                     lowercase: bool = False, specials: Sequence[str] = BPE_SPECIALS) -> Tokenizer:
    """A tokeniser whose ``decode(encode(text).ids)`` gives the text back (up to runs of spaces), so a
    translation model's output is plain detokenised text, as sacrebleu scores it.

    Words carry SentencePiece's "▁" marker for the space before them and punctuation is split off them:
    "Ein Mann." -> "▁Ein", "▁Mann", "."; the Metaspace decoder turns the markers back into spaces.
    ``model="bpe"``: byte-pair merges within those pieces up to ``vocab_size`` entries; ``model="word"``: one
    entry per piece seen ``min_frequency`` times (at most ``vocab_size``), the rest <unk>.
    """
    if model not in ("bpe", "word"):
        raise SeqlabError(f"tokeniser model must be 'bpe' or 'word', got {model!r}")
    unk = UNK if UNK in specials else None
    if model == "bpe":
        tok = Tokenizer(models.BPE(unk_token=unk))
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                      special_tokens=list(specials), show_progress=False)
    else:
        tok = Tokenizer(models.WordLevel(unk_token=unk))
        trainer = trainers.WordLevelTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                            special_tokens=list(specials), show_progress=False)
    tok.normalizer = _normalizer(lowercase)
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Metaspace(), pre_tokenizers.Punctuation()])
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(texts, trainer)
    return tok


def train_byte_bpe(texts: Iterable[str], vocab_size: int, *, min_frequency: int = 2,
                   specials: Sequence[str] = BPE_SPECIALS) -> Tokenizer:
    """GPT-2's byte-level BPE: text is read as UTF-8 bytes (each shown as a printable character, "Ġ" for a
    space), merges start from the 256 bytes, so every string encodes (no <unk>) and decodes back exactly."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=list(specials),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return tok


def train_wordpiece(texts: Iterable[str], vocab_size: int, *, min_frequency: int = 2, lowercase: bool = True,
                    specials: Sequence[str] = WORDPIECE_SPECIALS) -> Tokenizer:
    """WordPiece as in BERT: BERT's pre-tokenisation, "##" continuation pieces, and [CLS] ... [SEP]
    added around each encoded text (when those specials exist)."""
    tok = _bert_pipeline(Tokenizer(models.WordPiece(unk_token="[UNK]" if "[UNK]" in specials else UNK)), lowercase)
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                        special_tokens=list(specials), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return _bert_framing(tok)


def wordpiece_from_vocab(vocab_txt: str | Path, *, lowercase: bool = True) -> Tokenizer:
    """A BERT tokenizer from an existing ``vocab.txt`` (one piece per line, the line number its id)."""
    path = Path(vocab_txt)
    if not path.is_file():
        raise SeqlabError(f"{path}: no such vocab.txt")
    vocab = {piece: i for i, piece in enumerate(path.read_text(encoding="utf-8").splitlines())}
    missing = [s for s in WORDPIECE_SPECIALS if s not in vocab]
    if missing:
        raise SeqlabError(f"{path}: lacks BERT's special pieces {', '.join(missing)}")
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.add_special_tokens(list(WORDPIECE_SPECIALS))
    return _bert_framing(_bert_pipeline(tok, lowercase))


def _bert_pipeline(tok: Tokenizer, lowercase: bool) -> Tokenizer:
    tok.normalizer = _normalizer(lowercase)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##")
    return tok


def _bert_framing(tok: Tokenizer) -> Tokenizer:
    """[CLS] A [SEP] (and [CLS] A [SEP] B [SEP] for pairs) around each encoded text, when the specials exist."""
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    if cls_id is not None and sep_id is not None:
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    return tok


def save_tokenizer(tok: Tokenizer, path: str | Path) -> None:
    """Write ``tokenizer.json`` (the Hugging Face format: model, normaliser, pre-tokeniser, decoder)."""
    from seqlab.io import atomic_write_text

    atomic_write_text(path, tok.to_str(pretty=True))


def load_tokenizer(path: str | Path) -> Tokenizer:
    """Load a ``tokenizer.json``, ours or a pretrained model's; a directory means its tokenizer.json."""
    path = Path(path)
    path = path / "tokenizer.json" if path.is_dir() else path
    try:
        return Tokenizer.from_file(str(path))
    except Exception as err:  # tokenizers raises a bare Exception for missing and malformed files alike
        raise SeqlabError(f"{path}: not a tokenizer.json ({err})") from err


class SubwordVocab:
    """A trained ``tokenizers.Tokenizer`` behind the interface of seqlab's CharVocab: text -> ids -> text,
    the special ids, and the piece of every id (for plots). Saved inside a run's JSON vocabulary."""

    def __init__(self, tokenizer: Tokenizer):
        self.tokenizer = tokenizer
        specials = {t: tokenizer.token_to_id(t) for t in BPE_SPECIALS}
        missing = [t for t, i in specials.items() if i is None]
        if missing:
            raise SeqlabError(f"tokenizer lacks the special tokens {', '.join(missing)}")
        self.pad_id, self.bos_id, self.eos_id, self.unk_id = (specials[t] for t in BPE_SPECIALS)
        vocab = tokenizer.get_vocab(with_added_tokens=True)
        self.tokens = [""] * len(vocab)
        for piece, i in vocab.items():
            self.tokens[i] = piece

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str, *, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        ids = self.tokenizer.encode(text, add_special_tokens=False).ids
        return [self.bos_id] * add_bos + ids + [self.eos_id] * add_eos

    def decode(self, ids: Iterable[int], *, skip_specials: bool = True) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=skip_specials)

    def unknown(self, text: str) -> list[str]:
        """The parts of ``text`` the vocabulary reads as <unk> (unseen characters, or words for a word vocabulary)."""
        encoding = self.tokenizer.encode(text, add_special_tokens=False)
        return [text[a:b].strip() for i, (a, b) in zip(encoding.ids, encoding.offsets, strict=True) if i == self.unk_id]

    def to_dict(self) -> dict:
        import json

        return json.loads(self.tokenizer.to_str())

    @classmethod
    def from_dict(cls, data: dict) -> SubwordVocab:
        import json

        return cls(Tokenizer.from_str(json.dumps(data)))
