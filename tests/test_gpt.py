"""GPT against Hugging Face's GPT2LMHeadModel on tiny random configs (built from a config, no download): logits
equal to 1e-5 in fp32 in both directions, with and without the KV cache, with left padding; the presets' parameter
counts against the published ones; generation cached vs recomputed, and past the context."""

import pytest
import torch
from torch import nn
from transformers import GPT2Config, GPT2LMHeadModel

from seqlab.generation import beam_generate, generate
from seqlab.models.gpt import GPT, GPTConfig

ATOL = 1e-5
V, C = 37, 16


def hf_pair(*, tie: bool = True, n_inner: int | None = None, activation: str = "gelu_new"):
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=V, n_positions=C, n_embd=24, n_layer=2, n_head=4, n_inner=n_inner,
                        activation_function=activation, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                        tie_word_embeddings=tie)
    ref = GPT2LMHeadModel(config).eval()
    with torch.no_grad():  # HF starts biases at zero and norms at one: make every weight count
        for p in ref.parameters():
            p.normal_(std=0.2)
    return GPT.from_hf(ref.state_dict(), config=config).eval(), ref


def random_gpt(**overrides) -> GPT:
    torch.manual_seed(1)
    cfg = GPTConfig(**{**dict(vocab_size=V, n_positions=C, n_layers=2, n_heads=4, d_model=24, dropout=0.0),
                       **overrides})
    model = GPT.from_config(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(std=0.2)
    return model


def ids(b: int = 3, t: int = 10, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, V, (b, t), generator=torch.Generator().manual_seed(seed))


# -- parameter counts --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("preset", "published"), [
    ("gpt2", 124_439_808), ("gpt2-medium", 354_823_168), ("gpt2-large", 774_030_080), ("gpt2-xl", 1_557_611_200),
    ("gpt1", 116_534_784),
])
def test_preset_parameter_counts_are_the_published_ones(preset, published):
    with torch.device("meta"):  # shapes only: no memory for 1.5B parameters
        model = GPT.from_config(GPTConfig.from_name(preset))
    assert sum(p.numel() for p in model.parameters()) == published


def test_gpt1_layout_is_post_norm_without_a_final_norm():
    cfg = GPTConfig.from_name("gpt1")
    assert (cfg.norm_first, cfg.n_positions, cfg.vocab_size) == (False, 512, 40478)
    with torch.device("meta"):
        model = GPT.from_config(cfg)
    assert isinstance(model.norm, nn.Identity) and not model.layers[0].attn_block.norm_first


def test_unknown_preset_and_bad_values_are_refused():
    with pytest.raises(ValueError, match="unknown GPT preset"):
        GPTConfig.from_name("gpt5")
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(d_model=10, n_heads=3)
    with pytest.raises(ValueError, match="vocab_size > 0"):
        GPT.from_config(GPTConfig(n_layers=1, n_heads=1, d_model=8))


# -- Hugging Face -> seqlab ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("tie", [True, False])
def test_logits_equal_hf(tie):
    ours, ref = hf_pair(tie=tie, n_inner=40)
    x = ids()
    assert torch.allclose(ours(x), ref(x).logits, atol=ATOL)


def test_left_padding_gives_the_logits_of_the_unpadded_prompt_and_equals_hf():
    ours, ref = hf_pair()
    x = ids(3, 9)
    mask = torch.ones_like(x)
    mask[0, :4] = 0
    mask[2, :1] = 0
    positions = (mask.cumsum(-1) - 1).clamp_min(0)
    theirs = ref(x, attention_mask=mask, position_ids=positions).logits
    got = ours(x, mask)
    real = mask.bool()
    assert torch.allclose(got[real], theirs[real], atol=ATOL)
    alone = ours(x[0:1, 4:])  # row 0 without its padding
    assert torch.allclose(got[0, 4:], alone[0], atol=ATOL)


def test_kv_cache_gives_the_logits_of_the_whole_sequence():
    ours, ref = hf_pair()
    x = ids(2, 12)
    full = ref(x).logits  # (B, T, V)
    logits, state = ours.prefill(x[:, :5], max_len=12)
    steps = [logits]
    for t in range(5, 11):
        logits, state = ours.step(x[:, t:t + 1], state)
        steps.append(logits)
    assert torch.allclose(torch.stack(steps, 1), full[:, 4:11], atol=ATOL)


def test_kv_cache_with_left_padding_matches_each_prompt_alone():
    model = random_gpt()
    a, b = ids(1, 7, seed=1), ids(1, 4, seed=2)
    batch = torch.cat([a, torch.cat([torch.zeros(1, 3, dtype=torch.long), b], 1)])  # (2, 7), b left-padded
    mask = torch.tensor([[1] * 7, [0] * 3 + [1] * 4])
    greedy = dict(temperature=0.0)
    both = generate(model, batch, 6, attention_mask=mask, **greedy)
    assert torch.equal(both[0, 7:], generate(model, a, 6, **greedy)[0, 7:])
    assert torch.equal(both[1, 7:], generate(model, b, 6, **greedy)[0, 4:])


def test_hf_greedy_generate_equals_ours():
    ours, ref = hf_pair()
    x = ids(2, 5)
    theirs = ref.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=8, do_sample=False,
                          pad_token_id=0)
    assert torch.equal(generate(ours, x, 8, temperature=0.0), theirs)


def test_directory_with_config_and_safetensors_loads(tmp_path):
    _, ref = hf_pair()
    ref.save_pretrained(tmp_path)
    ours = GPT.from_hf(tmp_path).eval()
    x = ids()
    assert torch.allclose(ours(x), ref(x).logits, atol=ATOL)


def test_foreign_weights_are_named():
    _, ref = hf_pair()
    state = ref.state_dict()
    state.pop("transformer.h.1.mlp.c_fc.weight")
    with pytest.raises(Exception, match=r"transformer\.h\.1\.mlp\.c_fc\.weight"):
        GPT.from_hf(state, config=ref.config)
    with pytest.raises(Exception, match="reorder_and_upcast_attn"):
        GPT.from_hf(ref.state_dict(), config={**ref.config.to_dict(), "reorder_and_upcast_attn": True})


# -- seqlab -> Hugging Face ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides", [{}, {"bias": False}, {"tie_embeddings": False, "d_ff": 40},
                                       {"activation": "gelu"}])
def test_export_loads_in_transformers_with_equal_logits(tmp_path, overrides):
    ours = random_gpt(**overrides)
    ours.save_hf(tmp_path / "hf")
    ref = GPT2LMHeadModel.from_pretrained(tmp_path / "hf").eval()
    x = ids()
    assert torch.allclose(ref(x).logits, ours(x), atol=ATOL)
    logits, state = ours.prefill(x[:, :6], max_len=10)  # and our cache against their cache
    out = ref(x[:, :6], use_cache=True)
    assert torch.allclose(logits, out.logits[:, -1], atol=ATOL)
    theirs = ref(x[:, 6:7], cache=out.cache, use_cache=True).logits[:, -1]
    assert torch.allclose(ours.step(x[:, 6:7], state)[0], theirs, atol=ATOL)


def test_post_norm_has_no_gpt2_export(tmp_path):
    with pytest.raises(Exception, match="post-norm"):
        random_gpt(norm_first=False).save_hf(tmp_path / "hf")


# -- generation ---------------------------------------------------------------------------------------------------

def test_cached_and_recomputed_generation_are_identical():
    model = random_gpt()
    x = ids(2, 4)
    cached = generate(model, x, 10, temperature=0.0)
    recomputed = generate(model, x, 10, temperature=0.0, use_cache=False)
    assert torch.equal(cached, recomputed)


def test_generation_past_the_context_slides_the_window():
    model = random_gpt()
    x = ids(1, 10)
    out = generate(model, x, 20, temperature=0.0)  # 30 tokens from a 16-token context
    assert out.shape == (1, 30)
    for t in range(C, 29):  # every token past the context is the argmax given the C tokens before it
        window = out[:, t - C + 1:t + 1]
        assert int(model(window)[0, -1].argmax()) == int(out[0, t + 1])


def test_a_prompt_longer_than_the_context_is_read_by_its_last_tokens():
    model = random_gpt()
    x = ids(1, 25)
    out = generate(model, x, 3, temperature=0.0)
    assert torch.equal(out[:, 25:], generate(model, x[:, -C:], 3, temperature=0.0)[:, C:])


def test_beam_search_runs_through_the_shared_loop():
    model = random_gpt()
    x = ids(2, 3)
    tokens, scores = beam_generate(model, x, 5, beam_size=3)
    assert tokens.shape == (2, 8) and torch.isfinite(scores).all()
    greedy = generate(model, x, 5, temperature=0.0)
    assert torch.equal(beam_generate(model, x, 5, beam_size=1)[0], greedy)


# -- training -----------------------------------------------------------------------------------------------------

def test_initialisation_scales_the_residual_projections():
    model = GPT.from_config(GPTConfig(vocab_size=50, n_positions=8, n_layers=8, n_heads=4, d_model=256))
    std = model.layers[0].self_attn.out_proj.weight.std().item()
    assert abs(std - 0.02 / 4) < 0.001  # 0.02 / sqrt(2 * 8)
    assert abs(model.layers[0].self_attn.in_proj.weight.std().item() - 0.02) < 0.002
    assert model.head.weight is model.embed.weight


def test_loss_is_hf_loss_and_learns():
    ours, ref = hf_pair()
    x = ids(2, 12)
    assert torch.allclose(ours.loss(x[:, :-1], x[:, 1:]), ref(x, labels=x).loss, atol=ATOL)
    model = random_gpt()
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    first = None
    for _ in range(30):
        loss = model.loss(x[:, :-1], x[:, 1:])
        first = first or loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < first / 3
