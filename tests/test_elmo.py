"""ELMo: the LSTM with projections against torch.nn.LSTM, the character CNN, highway and scalar mix, the biLM's two
directions (each reads only its own side), its layers for sentences (padding and batch invariant, cached), the
fast path against the reference path, generation, and the nearest-contexts demonstration."""

import math

import pytest
import torch
import torch.nn.functional as F

from seqlab.models.elmo import (
    BOUNDARY,
    BiLM,
    ElmoConfig,
    ElmoFeatures,
    char_ids,
    encode_sentences,
    nearest_contexts,
    reverse_padded,
    vectors_in_context,
)
from seqlab.nn.charcnn import CharCNN, Highway, ScalarMix
from seqlab.nn.recurrent import Recurrent

WORDS = ["<pad>", "<unk>", "<eos>", "the", "team", "will", "play", "football", "actors", "hamlet", "on", "stage", "."]


def tiny_config(**overrides) -> ElmoConfig:
    sizes = dict(vocab_size=len(WORDS), char_embed_dim=6, filters=[(1, 4), (2, 6), (3, 8)], proj_size=8,
                 hidden_size=12, num_layers=2, dropout=0.0, adaptive_cutoffs=[])
    return ElmoConfig(**(sizes | overrides))


def tiny_bilm(**overrides) -> BiLM:
    torch.manual_seed(0)
    model = BiLM.from_config(tiny_config(**overrides))
    model.set_vocabulary(WORDS)
    with torch.no_grad():  # larger weights than the initialisation, so that context moves the vectors visibly
        for p in model.parameters():
            p.mul_(3.0)
    return model.eval()


# ---- blocks ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_with_projection_matches_torch_on_both_paths(bidirectional):
    ours = Recurrent("lstm", 5, 8, num_layers=2, bidirectional=bidirectional, proj_size=3)
    ref = torch.nn.LSTM(5, 8, num_layers=2, bidirectional=bidirectional, proj_size=3, batch_first=True)
    ref.load_state_dict(ours.state_dict())
    x, lengths = torch.randn(4, 6, 5), torch.tensor([6, 3, 5, 1])
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    ref_out, (ref_h, ref_c) = ref(packed)
    ref_out, _ = torch.nn.utils.rnn.pad_packed_sequence(ref_out, batch_first=True, total_length=6)
    for fast in (True, False):
        ours.fast = fast
        out, (h, c) = ours(x, lengths)
        assert out.shape == (4, 6, 3 * (2 if bidirectional else 1)) and h.shape[-1] == 3 and c.shape[-1] == 8
        torch.testing.assert_close(out, ref_out, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(h, ref_h, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(c, ref_c, atol=1e-6, rtol=1e-5)


def test_projection_needs_an_lstm_and_a_smaller_size():
    with pytest.raises(ValueError, match="proj_size"):
        Recurrent("gru", 4, 8, proj_size=2)
    with pytest.raises(ValueError, match="proj_size"):
        Recurrent("lstm", 4, 8, proj_size=8)


def test_char_cnn_is_max_over_windows_inside_the_word():
    cnn = CharCNN(n_chars=10, embed_dim=3, filters=[(2, 4)])
    word = torch.tensor([[1, 2, 3, 0, 0]])
    x = cnn.embed(word[:, :3]).transpose(1, 2)  # (1, 3, 3): the three real characters
    expected = F.relu(cnn.convs[0](x).amax(-1))  # the two windows inside the word
    torch.testing.assert_close(cnn(word), expected)
    torch.testing.assert_close(cnn(word[:, :3]), expected)  # padding width does not matter
    torch.testing.assert_close(cnn(torch.tensor([[1, 2, 3] + [0] * 20])), expected)


def test_highway_starts_near_carrying_and_is_exact_at_a_closed_gate():
    layer = Highway(4, 1, gate_bias=-1e4)
    x = torch.randn(3, 4)
    torch.testing.assert_close(layer(x), x)
    layer = Highway(4, 1, gate_bias=1e4)  # an open gate: the transform alone
    h = layer.layers[0](x)[:, :4]
    torch.testing.assert_close(layer(x), F.relu(h))


def test_scalar_mix_is_gamma_times_the_softmax_weighted_sum():
    mix = ScalarMix(3)
    layers = torch.randn(3, 2, 5, 4)
    torch.testing.assert_close(mix(layers), layers.mean(0))  # w = 0: an even mix
    with torch.no_grad():
        mix.scalars.copy_(torch.tensor([0.5, -1.0, 2.0]))
        mix.gamma.fill_(1.7)
    s = torch.softmax(torch.tensor([0.5, -1.0, 2.0]), 0)
    torch.testing.assert_close(mix(layers), 1.7 * (s[0] * layers[0] + s[1] * layers[1] + s[2] * layers[2]))


def test_char_ids_are_bytes_between_word_marks_and_truncated():
    assert char_ids("ab") == [257, ord("a") + 1, ord("b") + 1, 258]
    assert char_ids("é") == [257, 0xC3 + 1, 0xA9 + 1, 258]  # UTF-8 bytes: any word has an id sequence
    assert len(char_ids("x" * 100, 10)) == 10


def test_reverse_padded_reverses_each_row_within_its_length():
    x = torch.tensor([[1, 2, 3, 0], [4, 5, 6, 7]])[..., None]
    assert reverse_padded(x, torch.tensor([3, 4]))[..., 0].tolist() == [[3, 2, 1, 0], [7, 6, 5, 4]]


# ---- the biLM ----------------------------------------------------------------------------------------------------


def ids(*words):
    return torch.tensor([[WORDS.index(w) for w in words]])


def test_loss_is_the_mean_of_the_forward_and_backward_lm():
    model = tiny_bilm()
    window = ids("the", "team", "will", "play", "football", ".")
    inputs, targets = window[:, :-1], window[:, 1:]
    forward, _ = model.direction_nll(0, inputs, targets)
    backward, _ = model.direction_nll(1, window.flip(1)[:, :-1], window.flip(1)[:, 1:])  # reads right to left
    assert torch.isclose(model.loss(inputs, targets), (forward.mean() + backward.mean()) / 2, atol=1e-6)
    model.train()
    model.loss(inputs, targets).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_each_direction_sees_only_its_side():
    model = tiny_bilm()
    P = model.config.proj_size
    a = [["the", "team", "will", "play", "football"]]
    b = [["the", "actors", "will", "play", "hamlet"]]  # word 1 differs (before "play"), word 4 (after)
    la, lb = (model.layers(*encode_sentences(s)) for s in (a, b))
    t = 3  # "play"
    torch.testing.assert_close(la[0, 0, t], lb[0, 0, t])  # the token layer: no context at all
    for k in (1, 2):
        assert not torch.allclose(la[k, 0, t, :P], lb[k, 0, t, :P])  # forward: "team" vs "actors" before
        assert not torch.allclose(la[k, 0, t, P:], lb[k, 0, t, P:])  # backward: "football" vs "hamlet" after
        torch.testing.assert_close(la[k, 0, 0, :P], lb[k, 0, 0, :P])  # "the": the same left context
    c = [["the", "team", "will", "play", "hamlet"]]  # same left side as a: forward equal up to "play"
    lc = model.layers(*encode_sentences(c))
    torch.testing.assert_close(la[1:, 0, : t + 1, :P], lc[1:, 0, : t + 1, :P])
    d = [["the", "actors", "will", "play", "football"]]  # same right side as a: backward equal from "play" on
    ld = model.layers(*encode_sentences(d))
    torch.testing.assert_close(la[1:, 0, t - 1 :, P:], ld[1:, 0, t - 1 :, P:])


def test_layers_read_the_sentence_between_boundaries_like_the_stream():
    model = tiny_bilm()
    sentence = ["the", "team", "will", "play"]
    layers = model.layers(*encode_sentences([sentence]))  # (3, 1, 4, 2P)
    stream = ids(BOUNDARY, *sentence, BOUNDARY)  # how the training stream holds a line
    outputs, _ = model.forward_lm(model.embed_ids(stream))
    backward, _ = model.backward_lm(model.embed_ids(stream.flip(1)))
    P = model.config.proj_size
    torch.testing.assert_close(layers[2, 0, :, :P], outputs[-1][0, 1:5], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(layers[2, 0, :, P:], backward[-1][0].flip(0)[1:5], atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("fast", [True, False])
def test_layers_do_not_depend_on_the_batch_or_its_padding(fast):
    model = tiny_bilm(fast=fast)
    short, long = ["play", "football"], ["the", "actors", "will", "play", "hamlet", "on", "stage", "."]
    alone = model.layers(*encode_sentences([short]))
    together = model.layers(*encode_sentences([long, short]))
    torch.testing.assert_close(together[:, 1, :2], alone[:, 0], atol=1e-6, rtol=1e-5)
    assert together[:, 1, 2:].abs().sum() == 0  # padded words: zeros


def test_fast_path_equals_the_reference_path():
    fast, reference = tiny_bilm(), tiny_bilm(fast=False)
    reference.load_state_dict(fast.state_dict())
    window = ids("the", "team", "will", "play", "football", ".", "the", "team")
    assert torch.isclose(fast.loss(window[:, :-1], window[:, 1:]), reference.loss(window[:, :-1], window[:, 1:]),
                         atol=1e-6)
    chars, mask = encode_sentences([["the", "team", "plays"], ["actors", "play", "hamlet", "on", "stage"]])
    torch.testing.assert_close(fast.layers(chars, mask), reference.layers(chars, mask), atol=1e-5, rtol=1e-5)


def test_generation_state_carries_the_forward_lm():
    model = tiny_bilm()
    prompt = ids("the", "team", "will")
    logits, state = model.prefill(prompt, 10)
    step_logits, _ = model.step(ids("play"), state)
    whole, _ = model.prefill(torch.cat([prompt, ids("play")], 1), 10)
    torch.testing.assert_close(step_logits, whole, atol=1e-4, rtol=1e-4)  # logits of weights x3: large
    assert logits.shape == (1, len(WORDS))


# ---- features for downstream tasks ---------------------------------------------------------------------------------


def test_features_are_cached_per_sentence_and_mixed(monkeypatch):
    bilm = tiny_bilm()
    features = ElmoFeatures.from_bilm(bilm)
    assert features.bilm.head is None
    chars, mask = encode_sentences([["the", "team"], ["actors", "play", "hamlet"]])
    calls = []
    layers = features.bilm.layers
    monkeypatch.setattr(features.bilm, "layers", lambda c, m: calls.append(len(c)) or layers(c, m))
    first = features(chars, mask)
    torch.testing.assert_close(first, bilm.layers(chars, mask).mean(0))  # the initial mix: the mean, gamma 1
    # the seen sentence again, now in a batch padded wider (a longer word) and longer (a longer sentence)
    chars2, mask2 = encode_sentences([["the", "footballers", "will", "play", "hamlet"], ["actors", "play", "hamlet"]])
    assert chars2.shape[1:] != chars.shape[1:]
    second = features(chars2, mask2)
    assert calls == [2, 1]  # only the new sentence was read
    torch.testing.assert_close(second[1, :3], first[1])
    torch.testing.assert_close(second, bilm.layers(chars2, mask2).mean(0))  # cached = computed
    features.train()
    assert not features.bilm.training and not any(p.requires_grad for p in features.bilm.parameters())
    assert all(p.requires_grad for p in features.mix.parameters())


def test_cache_drops_the_least_recently_used_sentences():
    features = ElmoFeatures.from_bilm(tiny_bilm())
    features.cache_tokens = 5
    for sentence in (["the", "team"], ["actors", "play"], ["on", "stage"]):
        features(*encode_sentences([sentence]))
    assert len(features.cache) == 2 and features.cached_tokens == 4  # the first one is gone


def test_features_are_fp32_under_autocast():
    bilm = tiny_bilm()
    features = ElmoFeatures.from_bilm(bilm)
    chars, mask = encode_sentences([["the", "team", "will"], ["actors"]])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        layers = features.frozen_layers(chars, mask)
        mixed = features(chars, mask)
    assert layers.dtype == torch.float32 and mixed.shape == (2, 3, 2 * bilm.config.proj_size)
    torch.testing.assert_close(layers, bilm.layers(chars, mask))
    with torch.autocast("cpu", dtype=torch.bfloat16):  # the biLM itself under autocast: bf16 throughout
        assert torch.isfinite(bilm.layers(chars, mask).float()).all()


def test_stream_losses_are_each_direction_reading_its_way():
    from seqlab.tasks.lm import bilm_losses

    model = tiny_bilm()
    words = ["the", "team", "will", "play", "football", ".", "<eos>", "actors", "play", "hamlet"]
    stream = torch.tensor([WORDS.index(w) for w in words])
    forward, backward, count = bilm_losses(model, stream, rows=1, seq_len=4)
    fwd, _ = model.direction_nll(0, stream[None, :-1], stream[None, 1:])
    bwd, _ = model.direction_nll(1, stream.flip(0)[None, :-1], stream.flip(0)[None, 1:])
    assert count == len(stream) - 1
    assert math.isclose(forward, fwd.sum().item(), rel_tol=1e-5) and math.isclose(backward, bwd.sum().item(),
                                                                                  rel_tol=1e-5)


def test_two_senses_of_a_word_get_different_nearest_contexts():
    """The paper's "play": each sentence's "play" finds its own context first, so the two senses rank the corpus
    differently (cosine of the top layer's vectors, as computed by hand), while the token layer, a static vector,
    is the same in both sentences. (What a trained biLM finds in WikiText-2 is in the README.)"""
    model = tiny_bilm()
    sports = [["the", "team", "will", "play", "football", "."], ["team", "play", "football", "on", "the", "team", "."]]
    theatre = [["the", "actors", "will", "play", "hamlet", "on", "stage", "."], ["actors", "play", "hamlet", "."]]
    corpus = sports + theatre + [["the", "team", "."]]  # a sentence without the word is skipped
    rankings = []
    for query in (sports[0], theatre[0]):
        best = nearest_contexts(model, "play", query, corpus, k=10)
        assert len(best) == 4 and best[0][1] == query and math.isclose(best[0][0], 1.0, abs_tol=1e-5)
        vectors = vectors_in_context(model, [query, *corpus[:4]], [s.index("play") for s in [query, *corpus[:4]]])
        by_hand = F.cosine_similarity(vectors[1:], vectors[:1])
        assert [tokens for _, tokens in best] == [corpus[i] for i in by_hand.argsort(descending=True)]
        torch.testing.assert_close(torch.tensor([score for score, _ in best]), by_hand.sort(descending=True).values)
        rankings.append([tokens for _, tokens in best])
    assert rankings[0] != rankings[1]
    static = vectors_in_context(model, [sports[0], theatre[0]], [3, 3], layer=0)
    torch.testing.assert_close(static[0], static[1])
    with pytest.raises(ValueError, match="not a word of the query"):
        nearest_contexts(model, "play", ["the", "team"], corpus)
    with pytest.raises(ValueError, match="no sentence of the corpus"):
        nearest_contexts(model, "play", sports[0], [["the", "team"]])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_projected_lstm_uses_flat_weights_and_matches(recwarn):
    ours = Recurrent("lstm", 5, 8, num_layers=2, bidirectional=True, proj_size=3).cuda()
    ref = torch.nn.LSTM(5, 8, num_layers=2, bidirectional=True, proj_size=3, batch_first=True).cuda()
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(4, 6, 5, device="cuda")
    out, _ = ours(x)
    assert not [w for w in recwarn if "contiguous chunk" in str(w.message)]  # flatten_parameters ran
    torch.testing.assert_close(out, ref(x)[0], atol=1e-5, rtol=1e-5)
    ours.fast = False
    torch.testing.assert_close(ours(x)[0], out, atol=1e-5, rtol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_features_and_contexts():
    bilm = tiny_bilm().cuda()
    features = ElmoFeatures.from_bilm(bilm).cuda()
    chars, mask = encode_sentences([["the", "team", "will"], ["actors"]])
    with torch.autocast("cuda", dtype=torch.bfloat16):
        mixed = features(chars.cuda(), mask.cuda())
    assert mixed.device.type == "cuda" and mixed.dtype == torch.float32
    best = nearest_contexts(bilm, "play", ["the", "team", "will", "play"], [["actors", "play", "hamlet"]], k=1)
    assert best[0][1] == ["actors", "play", "hamlet"]
