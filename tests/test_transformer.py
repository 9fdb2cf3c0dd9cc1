import itertools

import pytest
import torch
import torch.nn.functional as F

from seqlab.generation import beam_search, greedy_search, length_penalty
from seqlab.models import Transformer, TransformerConfig
from seqlab.training import load_weights, save_weights

PAD, BOS, EOS = 0, 1, 2


def tiny_model(**overrides) -> Transformer:
    cfg = TransformerConfig.from_name("tiny", src_vocab_size=13, tgt_vocab_size=11, n_encoder_layers=2,
                                      n_decoder_layers=2, max_len=32, **overrides)
    model = Transformer.from_config(cfg).eval()
    with torch.no_grad():  # untrained tied models prefer <bos>; spread the logits so decoding varies
        model.generator.weight.mul_(3.0)
    return model


def source() -> torch.Tensor:
    src = torch.randint(3, 13, (3, 9))
    src[1, 6:] = PAD
    src[2, 3:] = PAD
    return src


def test_presets_and_derived_fields():
    cfg = TransformerConfig.from_name("base", src_vocab_size=100, tgt_vocab_size=100)
    assert (cfg.d_model, cfg.n_heads, cfg.head_dim, cfg.d_ff) == (512, 8, 64, 2048)
    with pytest.raises(ValueError, match="divisible"):
        TransformerConfig(d_model=10, n_heads=3)
    with pytest.raises(ValueError, match="preset"):
        TransformerConfig.from_name("huge")


def test_base_transformer_size_matches_the_paper():
    # ~65M parameters for the base model with a shared 37k BPE vocabulary (paper, table 3)
    cfg = TransformerConfig.from_name("base", src_vocab_size=37000, tgt_vocab_size=37000, share_embeddings=True)
    with torch.device("meta"):
        model = Transformer.from_config(cfg)
    n = sum(p.numel() for p in model.parameters())
    d, f, v = 512, 2048, 37000
    attention, ffn, norm = 4 * d * d + 4 * d, 2 * d * f + f + d, 2 * d  # W_Q, W_K, W_V, W_O with biases
    encoder, decoder = 6 * (attention + ffn + 2 * norm), 6 * (2 * attention + ffn + 3 * norm)
    assert n == v * d + encoder + decoder  # one embedding, shared and tied; sinusoids are not parameters
    assert 60e6 < n < 66e6


def test_tied_output_projection():
    model = tiny_model()
    assert model.generator.weight is model.decoder.embed.weight
    shared = tiny_model(share_embeddings=False)
    assert shared.encoder.embed is not shared.decoder.embed


def test_label_smoothed_loss_matches_formula():
    model = tiny_model(label_smoothing=0.1)
    src, tgt = source(), torch.tensor([[BOS, 5, 6, EOS], [BOS, 7, EOS, PAD], [BOS, EOS, PAD, PAD]])
    logits = model(src, tgt[:, :-1])
    logp = logits.log_softmax(-1)
    labels = tgt[:, 1:]
    keep = labels != PAD
    nll = -logp.gather(-1, labels[..., None])[..., 0]
    uniform = -logp.mean(-1)  # (1 - eps) * nll + eps * mean over the vocabulary of -log p
    expected = ((0.9 * nll + 0.1 * uniform)[keep]).mean()
    torch.testing.assert_close(model.loss(src, tgt), expected)


def test_incremental_decoding_with_cache_equals_full_decoding():
    model = tiny_model()
    src = source()
    tgt = torch.randint(3, 11, (3, 8))
    tgt[:, 0] = BOS
    memory, mask = model.encode(src)
    full, _ = model.decode(tgt, memory, mask)  # (B, T, V), teacher forcing
    state = model.start_decoding(memory, mask, max_len=16)
    steps = [model.decode_step(tgt[:, t : t + 1], state, torch.tensor([t])) for t in range(8)]
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=1e-5)
    # a prefix of several tokens at once, then one more
    state = model.start_decoding(memory, mask, max_len=16)
    prefill = model.decode_step(tgt[:, :5], state, torch.arange(5))
    nxt = model.decode_step(tgt[:, 5:6], state, torch.tensor([5]))
    torch.testing.assert_close(torch.cat([prefill, nxt], 1), full[:, :6], atol=1e-5, rtol=1e-5)


def test_greedy_cached_equals_uncached():
    model = tiny_model()
    src = source()
    cached = greedy_search(model, src, max_len=12)
    assert torch.equal(cached, greedy_search(model, src, max_len=12, use_cache=False))
    assert cached.size(1) <= 12


def test_beam_of_one_is_greedy():
    model = tiny_model()
    src = source()
    tokens, _ = beam_search(model, src, max_len=12, beam_size=1, alpha=0.0)
    assert torch.equal(tokens, greedy_search(model, src, max_len=12))


def test_beam_cached_equals_uncached():
    model = tiny_model()
    src = source()
    a, sa = beam_search(model, src, max_len=10, beam_size=4)
    b, sb = beam_search(model, src, max_len=10, beam_size=4, use_cache=False)
    assert torch.equal(a, b)
    torch.testing.assert_close(sa, sb)


def _sequence_log_prob(model, src, ys) -> float:
    tgt_in = torch.tensor([[BOS, *ys[:-1]]])
    logp = model(src, tgt_in).log_softmax(-1)[0]
    return sum(logp[t, y].item() for t, y in enumerate(ys))


def test_wide_beam_finds_the_exhaustive_optimum():
    """With a beam as wide as the search space, beam search is exact: compare with enumeration."""
    model = tiny_model()
    model.config.tgt_vocab_size = 5
    with torch.no_grad():
        model.generator.weight.data = model.generator.weight.data[:5].clone()
        model.generator.weight.data[EOS] *= 0.3
    model.generator.weight = torch.nn.Parameter(model.generator.weight.data)  # untie: 5-word output
    src = source()[:1]
    max_len, vocab = 3, 5
    best = -float("inf")
    for path in itertools.product(range(vocab), repeat=max_len):
        ys = list(path[: path.index(EOS) + 1]) if EOS in path else list(path)
        best = max(best, _sequence_log_prob(model, src, ys))
    _, score = beam_search(model, src, max_len, beam_size=vocab**2, alpha=0.0)
    assert score.item() == pytest.approx(best, abs=1e-4)


def test_length_penalty_formula():
    assert length_penalty(torch.tensor(1), 0.6).item() == pytest.approx(1.0)
    assert length_penalty(torch.tensor(7), 1.0).item() == pytest.approx(2.0)


def test_safetensors_roundtrip_keeps_ties_and_outputs(tmp_path):
    model = tiny_model()
    save_weights(model, tmp_path / "model.safetensors")
    other = Transformer.from_config(model.config).eval()
    load_weights(other, tmp_path / "model.safetensors")
    assert other.generator.weight is other.decoder.embed.weight
    src = source()
    tgt = torch.tensor([[BOS, 4, 5]] * 3)
    torch.testing.assert_close(other(src, tgt), model(src, tgt))


def test_a_tiny_transformer_learns_to_reverse():
    """End to end: teacher forcing, clipping, inverse-sqrt warmup and greedy decoding learn a real mapping."""
    torch.manual_seed(0)
    cfg = TransformerConfig(src_vocab_size=10, tgt_vocab_size=10, d_model=48, n_heads=4, d_ff=96,
                            n_encoder_layers=1, n_decoder_layers=1, dropout=0.0, max_len=16,
                            share_embeddings=True, label_smoothing=0.0)
    model = Transformer.from_config(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)

    def batch(n):
        src = torch.randint(3, 10, (n, 5))
        tgt = torch.cat([torch.full((n, 1), BOS), src.flip(1), torch.full((n, 1), EOS)], 1)
        return src, tgt

    for _ in range(300):
        src, tgt = batch(64)
        loss = model.loss(src, tgt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    src, tgt = batch(200)
    out = greedy_search(model, src, max_len=6)
    accuracy = (out[:, :6] == tgt[:, 1:]).all(1).float().mean().item()
    assert accuracy > 0.9, accuracy
    assert F.cross_entropy(model(src, tgt[:, :-1]).flatten(0, 1), tgt[:, 1:].flatten()).item() < 0.1


def test_attention_and_feed_forward_dropout_can_differ_from_the_residual_rate():
    cfg = TransformerConfig.from_name("tiny", src_vocab_size=10, tgt_vocab_size=10, dropout=0.3,
                                      attention_dropout=0.2, ffn_dropout=0.0)
    model = Transformer.from_config(cfg)
    layer = model.decoder.layers[0]
    assert layer.self_layer.attn_block.dropout.p == 0.3 and layer.cross_layer.cross_attn.dropout == 0.2
    assert layer.self_layer.self_attn.dropout == 0.2 and layer.cross_layer.feed_forward.dropout.p == 0.0
    default = Transformer.from_config(TransformerConfig.from_name("tiny", src_vocab_size=10, tgt_vocab_size=10,
                                                                  dropout=0.3))
    first = default.encoder.layers[0]
    assert first.feed_forward.dropout.p == 0.3 and first.self_attn.dropout == 0.3
    with pytest.raises(ValueError, match="dropout rates"):
        TransformerConfig(ffn_dropout=1.5)


def test_a_checkpoint_with_the_earlier_flat_decoder_names_loads(tmp_path):
    """Run directories written before DecoderLayer was split into a self- and a cross-attention layer."""
    from safetensors.torch import save_file

    model = tiny_model()
    flat = {"self_layer.self_attn.": "self_attn.", "self_layer.attn_block.": "self_block.",
            "cross_layer.cross_attn.": "cross_attn.", "cross_layer.cross_block.": "cross_block.",
            "cross_layer.feed_forward.": "feed_forward.", "cross_layer.ff_block.": "ff_block."}
    old = {}
    for name, tensor in model.state_dict().items():
        for new, before in flat.items():
            name = name.replace(new, before)
        old[name] = tensor.contiguous()
    assert "decoder.layers.1.self_block.norm.weight" in old and "decoder.layers.1.cross_attn.in_proj.bias" in old
    old.pop("generator.weight")  # tied: safetensors stores one of the two
    save_file(old, str(tmp_path / "model.safetensors"))
    other = Transformer.from_config(model.config).eval()
    load_weights(other, tmp_path / "model.safetensors")
    src, tgt = source(), torch.tensor([[BOS, 4, 5]] * 3)
    torch.testing.assert_close(other(src, tgt), model(src, tgt))
