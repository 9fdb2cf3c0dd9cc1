"""Tiny-config behaviour of the RNN classifier, tagger and language model."""

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from seqlab.generation import generate
from seqlab.models.rnn import (
    RNNClassifier,
    RNNClassifierConfig,
    RNNLanguageModel,
    RNNLMConfig,
    RNNTagger,
    RNNTaggerConfig,
)

PAD = 0


def batch(lengths: list[int], vocab: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    """Random ids (B, T) padded with PAD after each length, and the mask (B, T)."""
    mask = torch.arange(max(lengths))[None, :] < torch.tensor(lengths)[:, None]
    ids = torch.randint(1, vocab, mask.shape).masked_fill(~mask, PAD)
    return ids, mask


# -- classifier -------------------------------------------------------------------------------------------


def classifier(**overrides) -> RNNClassifier:
    cfg = RNNClassifierConfig(**{"vocab_size": 20, "n_classes": 3, "embed_dim": 8, "hidden_size": 6, **overrides})
    return RNNClassifier.from_config(cfg).eval()


def test_classifier_logits_and_loss():
    model = classifier().train()
    ids, mask = batch([5, 3, 1])
    labels = torch.tensor([0, 2, 1])
    assert model(ids, mask).shape == (3, 3)
    loss = model.loss(ids, mask, labels)
    loss.backward()
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert model.embed.weight.grad[PAD].abs().sum() == 0  # padding_idx
    model.eval()
    assert_close(model.loss(ids, mask, labels), F.cross_entropy(model(ids, mask), labels))


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("pooling", ["last", "max", "mean"])
def test_classifier_is_padding_invariant(pooling, cell, fast):
    model = classifier(pooling=pooling, cell=cell, fast=fast, num_layers=2)
    ids, mask = batch([7, 4])
    together = model(ids, mask)
    alone = model(ids[1:, :4], mask[1:, :4])
    assert_close(together[1:], alone, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("bidirectional", [True, False])
def test_classifier_pooling_modes(bidirectional):
    model = classifier(pooling="last", bidirectional=bidirectional)
    ids, mask = batch([6, 3, 5])
    output, _ = model.rnn(model.embed(ids), mask.sum(1))  # (B, T, D*H)
    rows = range(3)
    lengths = mask.sum(1).tolist()
    forward_last = torch.stack([output[b, lengths[b] - 1, :6] for b in rows])  # forward state at the last token
    expected = torch.cat([forward_last, output[:, 0, 6:]], -1) if bidirectional else forward_last  # backward at 1
    assert_close(model.features(ids, mask), expected)
    model.pooling = "max"
    assert_close(model.features(ids, mask), torch.stack([output[b, : lengths[b]].amax(0) for b in rows]))
    model.pooling = "mean"
    assert_close(model.features(ids, mask), torch.stack([output[b, : lengths[b]].mean(0) for b in rows]))


def test_classifier_fast_and_reference_agree():
    model = classifier(cell="gru", num_layers=2)
    ids, mask = batch([6, 2, 4])
    fast = model(ids, mask)
    model.rnn.fast = False
    assert_close(model(ids, mask), fast, atol=1e-5, rtol=1e-5)


def test_config_validation():
    with pytest.raises(ValueError, match="pooling"):
        RNNClassifierConfig(pooling="attention")
    with pytest.raises(ValueError, match="cell"):
        RNNTaggerConfig(cell="elman")
    with pytest.raises(ValueError, match="tie_weights"):
        RNNLMConfig(embed_dim=8, hidden_size=16, tie_weights=True)
    with pytest.raises(ValueError, match="vocab_size"):
        RNNClassifier.from_config(RNNClassifierConfig())


# -- tagger -----------------------------------------------------------------------------------------------

K = 5


def tagger(**overrides) -> RNNTagger:
    cfg = RNNTaggerConfig(**{"vocab_size": 20, "n_tags": K, "embed_dim": 8, "hidden_size": 6, "dropout": 0.0,
                             **overrides})
    return RNNTagger.from_config(cfg).eval()


def tag_batch(lengths: list[int], width: int = 4):
    ids, mask = batch(lengths)
    labels = torch.randint(0, K, ids.shape).masked_fill(~mask, -100)
    chars = torch.randint(1, 12, (*ids.shape, width))
    chars[..., 2:] = torch.where(torch.rand(*ids.shape, 1) < 0.5, 0, chars[..., 2:])  # some short words
    chars[~mask] = 0
    return ids, mask, labels, chars


def test_softmax_tagger_loss_and_decode():
    model = tagger()
    ids, mask, labels, _ = tag_batch([5, 2, 4])
    emissions = model(ids, mask)
    assert emissions.shape == (3, 5, K)
    logp = emissions.log_softmax(-1)
    real = labels != -100
    by_hand = -logp[real].gather(1, labels[real][:, None]).mean()
    assert_close(model.loss(ids, mask, labels), by_hand)
    paths = model.decode(ids, mask)
    assert [len(p) for p in paths] == [5, 2, 4]
    assert paths[1] == emissions[1, :2].argmax(-1).tolist()


@pytest.mark.parametrize("with_chars", [False, True], ids=["words", "chars"])
def test_crf_tagger_loss_decode_and_training(with_chars):
    model = tagger(crf=True, char_vocab_size=12 if with_chars else 0, char_embed_dim=4, char_hidden_size=3).train()
    ids, mask, labels, chars = tag_batch([5, 2, 4])
    chars = chars if with_chars else None
    emissions = model(ids, mask, chars)
    tags = labels.masked_fill(~mask, 0)
    assert_close(model.loss(ids, mask, labels, chars), model.crf.nll(emissions, tags, mask).mean())
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    first = model.loss(ids, mask, labels, chars)
    for _ in range(12):
        optimizer.zero_grad()
        loss = model.loss(ids, mask, labels, chars)
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.1 * first.item()
    paths = model.eval().decode(ids, mask, chars)
    assert [len(p) for p in paths] == [5, 2, 4]
    assert paths == model.crf.decode(model(ids, mask, chars), mask)
    assert paths == [labels[b, : len(p)].tolist() for b, p in enumerate(paths)]  # it has learnt the batch


def test_char_features_follow_lample():
    model = tagger(char_vocab_size=12, char_embed_dim=4, char_hidden_size=3)
    ids, mask, _, chars = tag_batch([3, 2])
    encoder = model.chars
    features = encoder(chars, mask)  # (B, T, 2*Hc)
    assert features.shape == (2, 3, 6) and (features[1, 2] == 0).all()
    word = chars[0, 1][chars[0, 1] != 0]  # one word's characters, unpadded
    output, _ = encoder.rnn(encoder.embed(word[None]))  # (1, n, 2*Hc)
    assert_close(features[0, 1], torch.cat([output[0, -1, :3], output[0, 0, 3:]]))  # fwd last, bwd first
    wider = torch.cat([chars, torch.zeros(2, 3, 3, dtype=torch.long)], -1)  # more char padding changes nothing
    assert_close(model(ids, mask, wider), model(ids, mask, chars))
    with pytest.raises(ValueError, match="chars"):
        model(ids, mask)


def test_tagger_is_padding_invariant():
    model = tagger(char_vocab_size=12, char_embed_dim=4, char_hidden_size=3, num_layers=2)
    ids, mask, _, chars = tag_batch([6, 3])
    together = model(ids, mask, chars)
    alone = model(ids[1:, :3], mask[1:, :3], chars[1:, :3])
    assert_close(together[1, :3], alone[0], atol=1e-6, rtol=1e-5)


# -- language model ---------------------------------------------------------------------------------------

V = 11


def language_model(**overrides) -> RNNLanguageModel:
    cfg = RNNLMConfig(**{"vocab_size": V, "embed_dim": 8, "hidden_size": 8, "num_layers": 2, "dropout": 0.0,
                         **overrides})
    return RNNLanguageModel.from_config(cfg).eval()


def test_lm_loss_is_cross_entropy_in_nats():
    model = language_model()
    inputs, targets = torch.randint(0, V, (2, 6)), torch.randint(0, V, (2, 6))
    logits, (h, c) = model(inputs)
    assert logits.shape == (2, 6, V) and h.shape == c.shape == (2, 2, 8)
    probs = logits.softmax(-1)
    by_hand = -torch.log(probs.gather(-1, targets[..., None])).mean()
    assert_close(model.loss(inputs, targets), by_hand)


def test_tied_weights():
    model = language_model(tie_weights=True)
    assert model.head.weight is model.embed.weight


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "reference"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_state_carrying_is_exact(cell, fast):
    model = language_model(cell=cell, fast=fast)
    seq = torch.randint(0, V, (2, 7))
    full, _ = model(seq)
    logits, state = model(seq[:, :3])
    pieces = [logits]
    for t in range(3, 7):
        logits, state = model(seq[:, t : t + 1], state)
        pieces.append(logits)
    assert_close(torch.cat(pieces, 1), full, atol=1e-6, rtol=1e-6)


def test_greedy_generate_equals_feeding_the_whole_sequence():
    model = language_model()
    with torch.no_grad():
        model.head.weight.mul_(5)  # spread the logits so the greedy path varies
    prompt = torch.randint(0, V, (3, 4))
    out = generate(model, prompt, 6, temperature=0)
    assert out.shape == (3, 10) and torch.equal(out[:, :4], prompt)
    full, _ = model(out[:, :-1])  # teacher-forced logits over the generated sequence
    assert torch.equal(full[:, 3:].argmax(-1), out[:, 4:])  # each new token is the argmax of its prefix


def test_sampling_is_reproducible_with_a_generator():
    model = language_model()
    prompt = torch.randint(0, V, (2, 3))
    a = generate(model, prompt, 8, temperature=1.0, top_k=5, generator=torch.Generator().manual_seed(7))
    b = generate(model, prompt, 8, temperature=1.0, top_k=5, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b) and a.shape == (2, 11)
    assert ((a >= 0) & (a < V)).all()


def test_tiny_lm_overfits_a_repeating_sequence():
    model = language_model(embed_dim=16, hidden_size=32, num_layers=1).train()
    stream = torch.arange(5).repeat(8)  # 0 1 2 3 4 0 1 2 3 4 ...
    inputs, targets = stream[:-1].view(1, -1), stream[1:].view(1, -1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.03)
    first = model.loss(inputs, targets).item()
    for _ in range(40):
        optimizer.zero_grad()
        loss = model.loss(inputs, targets)
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.1 * first
    out = generate(model.eval(), torch.tensor([[2]]), 7, temperature=0)
    assert out.tolist() == [[2, 3, 4, 0, 1, 2, 3, 4]]


def test_casing_classes():
    from seqlab.tasks.tag import CASES, casing

    got = {w: CASES[casing(w)] for w in ["the", "EU", "Peter", "1996", "3rd", "McDonald", "-"]}
    assert got == {"the": "lower", "EU": "upper", "Peter": "title", "1996": "numeric", "3rd": "has_digit",
                   "McDonald": "other", "-": "other"}


def test_tagger_case_features_change_the_emissions():
    torch.manual_seed(0)
    cfg = RNNTaggerConfig(vocab_size=20, n_tags=4, embed_dim=8, hidden_size=6, case_embed_dim=3, dropout=0.0)
    model = RNNTagger.from_config(cfg).eval()
    ids, mask = torch.randint(1, 20, (2, 5)), torch.ones(2, 5, dtype=torch.bool)
    lower, title = torch.ones(2, 5, dtype=torch.long), torch.full((2, 5), 3)
    assert model.rnn.input_size == 8 + 3
    assert not torch.allclose(model(ids, mask, case=lower), model(ids, mask, case=title))
    with pytest.raises(ValueError, match="case features"):
        model(ids, mask)
