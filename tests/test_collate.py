import torch
import torch.nn.functional as F

from seqlab.data.collate import (
    IGNORE_INDEX,
    BucketBatchSampler,
    ClassificationCollator,
    Seq2SeqCollator,
    TaggingCollator,
    lm_windows,
    pad_sequences,
    pad_with_mask,
    stream_batches,
)
from seqlab.nn.masks import padding_mask


def test_pad_sequences_unchanged():
    assert pad_sequences([[1, 2, 3], [4]], 0).tolist() == [[1, 2, 3], [4, 0, 0]]
    assert pad_sequences([[1, 2, 3], [4]], 9, max_len=2).tolist() == [[1, 2], [4, 9]]
    assert pad_sequences([], 0).shape == (0, 0)


def test_mask_is_true_on_real_tokens_even_when_a_real_id_equals_pad():
    ids, mask = pad_with_mask([[5, 0, 7], [3]], pad_id=0)
    assert ids.tolist() == [[5, 0, 7], [3, 0, 0]]
    assert mask.tolist() == [[True, True, True], [True, False, False]]
    ids, mask = pad_with_mask([[1, 2, 3], [4]], 0, max_len=2)
    assert mask.tolist() == [[True, True], [True, False]]
    # the same convention as seqlab.nn.masks (True = may attend)
    assert torch.equal(padding_mask(torch.tensor([[1, 2], [3, 0]]), 0)[:, 0, 0], torch.tensor([[1, 1], [1, 0]]).bool())


def test_classification_collator():
    batch = ClassificationCollator(pad_id=0)([([4, 5, 6], 1), ([7], 0)])
    assert batch["ids"].tolist() == [[4, 5, 6], [7, 0, 0]]
    assert batch["mask"].sum(1).tolist() == [3, 1]
    assert batch["labels"].tolist() == [1, 0]


def test_tagging_collator_pads_labels_with_ignore_index():
    batch = TaggingCollator(pad_id=0)([([4, 5], [1, 2]), ([6], [3])])
    assert batch["labels"].tolist() == [[1, 2], [3, IGNORE_INDEX]]
    logits = torch.randn(2, 2, 5)
    loss = F.cross_entropy(logits.flatten(0, 1), batch["labels"].flatten())  # padding does not count
    real = F.cross_entropy(logits.flatten(0, 1)[batch["mask"].flatten()], torch.tensor([1, 2, 3]))
    assert torch.allclose(loss, real)


def test_seq2seq_collator_matches_the_date_task_layout():
    from seqlab.tasks.dates import DatePair, build_vocab, encode_batch

    vocab = build_vocab()
    pairs = [DatePair("4 july 2019", "2019-07-04"), DatePair("07/04/19", "2019-07-04")]
    collate = Seq2SeqCollator(vocab.pad_id, vocab.bos_id, vocab.eos_id)
    batch = collate([(vocab.encode(p.source), vocab.encode(p.target)) for p in pairs])
    expected = encode_batch(pairs, vocab)
    assert torch.equal(batch["src"], expected["src"]) and torch.equal(batch["tgt"], expected["tgt"])
    assert batch["tgt"][:, 0].eq(vocab.bos_id).all()
    assert set(batch) == {"src", "tgt"}
    masked = Seq2SeqCollator(vocab.pad_id, vocab.bos_id, vocab.eos_id, with_mask=True)(
        [(vocab.encode(p.source), vocab.encode(p.target)) for p in pairs])
    assert masked["src_mask"].tolist() == [[True] * 11, [True] * 8 + [False] * 3]


def test_seq2seq_batch_feeds_transformer_loss():
    from seqlab.models import Transformer, TransformerConfig

    torch.manual_seed(0)
    cfg = TransformerConfig.from_name("tiny", src_vocab_size=9, tgt_vocab_size=7, n_encoder_layers=1,
                                      n_decoder_layers=1, pad_id=0, bos_id=1, eos_id=2)
    model = Transformer.from_config(cfg)
    batch = Seq2SeqCollator(cfg.pad_id, cfg.bos_id, cfg.eos_id)([([3, 4, 5], [3, 4]), ([6], [5, 6, 3])])
    loss = model.loss(**batch)  # what the Trainer calls
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()


def test_lm_windows_shift_by_one_for_any_stream():
    inputs, targets = lm_windows(list(range(10)), 3)
    assert inputs.tolist() == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert targets.tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    inputs, targets = lm_windows(torch.arange(6), 3, stride=1)
    assert inputs.tolist() == [[0, 1, 2], [1, 2, 3], [2, 3, 4]] and targets[-1].tolist() == [3, 4, 5]
    series = torch.linspace(0, 1, 9)  # a float time series: the lecture's "split the series into chunks"
    x, y = lm_windows(series, 4)
    assert x.dtype == torch.float32 and torch.equal(y[:, :-1], x[:, 1:])
    assert lm_windows([1, 2, 3], 3)[0].shape == (0, 3)


def test_stream_batches_continue_row_by_row():
    stream = torch.arange(21)
    batches = list(stream_batches(stream, batch_size=2, seq_len=4))
    (x1, y1), (x2, _), (x3, y3) = batches
    assert x1.tolist() == [[0, 1, 2, 3], [10, 11, 12, 13]] and y1.tolist() == [[1, 2, 3, 4], [11, 12, 13, 14]]
    assert x2[:, 0].tolist() == [4, 14]  # row b picks up where it stopped
    assert x3.tolist() == [[8, 9], [18, 19]] and y3.tolist() == [[9, 10], [19, 20]]


def test_bucket_batch_sampler_groups_similar_lengths_and_covers_everything():
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, 100, (1000,), generator=g).tolist()
    sampler = BucketBatchSampler(lengths, batch_size=16, pool_batches=20, seed=1)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 63
    assert sorted(i for b in batches for i in b) == list(range(1000))
    padding = sum(len(b) * max(lengths[i] for i in b) - sum(lengths[i] for i in b) for b in batches)
    assert padding < 0.1 * sum(lengths)  # random batches would pad about half
    assert [b for b in BucketBatchSampler(lengths, 16, pool_batches=20, seed=1)] == batches  # deterministic
    sampler.set_epoch(1)
    assert list(sampler) != batches
    assert len(BucketBatchSampler(lengths, 16, drop_last=True)) == len(list(BucketBatchSampler(lengths, 16,
                                                                                               drop_last=True))) == 62
