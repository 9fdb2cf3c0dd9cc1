"""Our layers and Transformer against reference implementations, on tiny random configs with the weights
copied across (fp32, eval mode, no downloads): Hugging Face's GPT-2 block and BERT layer built from their
configs, and torch.nn.Transformer as a whole encoder-decoder."""

import pytest
import torch
from torch import nn
from transformers import BertConfig, GPT2Config
from transformers.models.bert.modeling_bert import BertLayer
from transformers.models.gpt2.modeling_gpt2 import GPT2Block

from seqlab.models import Transformer, TransformerConfig
from seqlab.nn import FeedForward, KVCache, MultiHeadAttention, SelfAttentionLayer, causal_mask
from tests.reference.torch_copy import copy_decoder_layer, copy_encoder_layer

B, T, D, H, F = 2, 6, 16, 4, 40
ATOL = 1e-5
NEG = torch.finfo(torch.float32).min  # HF's additive "masked" value


def _layer(*, activation: str, norm_first: bool, causal: bool, eps: float) -> SelfAttentionLayer:
    return SelfAttentionLayer(attn=MultiHeadAttention(D, H), mlp=FeedForward(D, F, activation=activation),
                              attn_norm=nn.LayerNorm(D, eps=eps), mlp_norm=nn.LayerNorm(D, eps=eps),
                              norm_first=norm_first, causal=causal).eval()


# -- GPT-2: pre-norm, causal, tanh GELU; Conv1D weights are stored transposed, q/k/v fused as ours ---------

def gpt2_pair() -> tuple[SelfAttentionLayer, GPT2Block]:
    torch.manual_seed(0)
    config = GPT2Config(n_embd=D, n_head=H, n_inner=F, n_positions=32, activation_function="gelu_new",
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, attn_implementation="eager")
    ref = GPT2Block(config, layer_idx=0).eval()
    for p in ref.parameters():  # HF initialises biases to zero and norms to one: make every weight count
        nn.init.normal_(p, std=0.3)
    ours = _layer(activation="gelu_tanh", norm_first=True, causal=True, eps=config.layer_norm_epsilon)
    with torch.no_grad():
        ours.self_attn.in_proj.weight.copy_(ref.attn.c_attn.weight.T)  # Conv1D: y = x W + b
        ours.self_attn.in_proj.bias.copy_(ref.attn.c_attn.bias)
        ours.self_attn.out_proj.weight.copy_(ref.attn.c_proj.weight.T)
        ours.self_attn.out_proj.bias.copy_(ref.attn.c_proj.bias)
        ours.feed_forward.w_1.weight.copy_(ref.mlp.c_fc.weight.T)
        ours.feed_forward.w_1.bias.copy_(ref.mlp.c_fc.bias)
        ours.feed_forward.w_2.weight.copy_(ref.mlp.c_proj.weight.T)
        ours.feed_forward.w_2.bias.copy_(ref.mlp.c_proj.bias)
    ours.attn_block.norm.load_state_dict(ref.ln_1.state_dict())
    ours.ff_block.norm.load_state_dict(ref.ln_2.state_dict())
    return ours, ref


def test_our_block_is_hugging_faces_gpt2_block():
    ours, ref = gpt2_pair()
    x = torch.randn(B, T, D)
    # the eager GPT-2 attention adds the mask it is given and nothing else: causality comes as this mask
    additive_causal = torch.zeros(T, T).masked_fill(~causal_mask(T), NEG)[None, None]  # (1, 1, T, T)
    with torch.no_grad():
        expected = ref(x, attention_mask=additive_causal)
        out, _ = ours(x)
        eager, _ = ours(x, need_weights=True)
    assert (out - expected).abs().max() <= ATOL
    assert (eager - expected).abs().max() <= ATOL


def test_cached_incremental_decoding_through_our_block_is_the_full_causal_pass():
    ours, _ = gpt2_pair()
    x = torch.randn(B, T, D)
    cache = KVCache(B, 16, H, D // H)
    with torch.no_grad():
        full, _ = ours(x)
        prefill, _ = ours(x[:, :3], kv_cache=cache, input_pos=torch.arange(3))  # a prompt, then token by token
        steps = [ours(x[:, t : t + 1], kv_cache=cache, input_pos=torch.tensor([t]))[0] for t in range(3, T)]
    assert (torch.cat([prefill, *steps], 1) - full).abs().max() <= ATOL


# -- BERT: post-norm, padding mask, exact GELU, eps 1e-12; separate query/key/value, concatenated into ours -----

def test_our_layer_is_hugging_faces_bert_layer_with_padding():
    torch.manual_seed(0)
    config = BertConfig(hidden_size=D, num_attention_heads=H, intermediate_size=F, hidden_act="gelu",
                        layer_norm_eps=1e-12, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                        attn_implementation="eager")
    ref = BertLayer(config).eval()
    for p in ref.parameters():
        nn.init.normal_(p, std=0.3)
    ours = _layer(activation="gelu", norm_first=False, causal=False, eps=config.layer_norm_eps)
    attn = ref.attention
    with torch.no_grad():
        ours.self_attn.in_proj.weight.copy_(torch.cat([attn.self.query.weight, attn.self.key.weight,
                                                       attn.self.value.weight]))
        ours.self_attn.in_proj.bias.copy_(torch.cat([attn.self.query.bias, attn.self.key.bias, attn.self.value.bias]))
    ours.self_attn.out_proj.load_state_dict(attn.output.dense.state_dict())
    ours.attn_block.norm.load_state_dict(attn.output.LayerNorm.state_dict())
    ours.feed_forward.w_1.load_state_dict(ref.intermediate.dense.state_dict())
    ours.feed_forward.w_2.load_state_dict(ref.output.dense.state_dict())
    ours.ff_block.norm.load_state_dict(ref.output.LayerNorm.state_dict())
    x = torch.randn(B, T, D)
    keep = torch.arange(T)[None, :] < torch.tensor([T, 3])[:, None]  # (B, T): the second sequence is padded
    extended = (1.0 - keep[:, None, None, :].float()) * NEG  # BERT's extended attention mask (B, 1, 1, T)
    with torch.no_grad():
        expected = ref(x, attention_mask=extended)
        out, _ = ours(x, keep[:, None, None, :])
    assert (out - expected).abs().max() <= ATOL  # padded queries too: they attend to the real keys
    changed = x.clone()
    changed[1, 3:] += 5.0  # what padding holds must not reach the real tokens
    with torch.no_grad():
        assert (ours(changed, keep[:, None, None, :])[0][1, :3] - out[1, :3]).abs().max() <= ATOL


# -- the whole encoder-decoder against torch.nn.Transformer --------------------------------------------------

@pytest.mark.parametrize("norm_first", [False, True])
def test_our_transformer_is_torch_nn_transformer(norm_first):
    torch.manual_seed(0)
    cfg = TransformerConfig(src_vocab_size=17, tgt_vocab_size=17, d_model=D, n_heads=H, d_ff=F, n_encoder_layers=2,
                            n_decoder_layers=3, dropout=0.0, norm_first=norm_first, max_len=32)
    ours = Transformer.from_config(cfg).eval()
    ref = nn.Transformer(D, H, cfg.n_encoder_layers, cfg.n_decoder_layers, F, dropout=0.0, batch_first=True,
                         norm_first=norm_first).eval()
    for our_layer, ref_layer in zip(ours.encoder.layers, ref.encoder.layers, strict=True):
        copy_encoder_layer(our_layer, ref_layer)
    for our_layer, ref_layer in zip(ours.decoder.layers, ref.decoder.layers, strict=True):
        copy_decoder_layer(our_layer, ref_layer)
    if norm_first:  # pre-norm stacks end in a LayerNorm
        ours.encoder.norm.load_state_dict(ref.encoder.norm.state_dict())
        ours.decoder.norm.load_state_dict(ref.decoder.norm.state_dict())
    else:  # torch adds final norms to post-norm stacks too; the paper (and ours) has none
        ref.encoder.norm, ref.decoder.norm = nn.Identity(), nn.Identity()

    src = torch.randint(3, 17, (3, 9))
    src[1, 6:] = cfg.pad_id
    src[2, 2:] = cfg.pad_id
    tgt = torch.randint(3, 17, (3, 7))
    pad = src == cfg.pad_id

    def embedded(embed: nn.Module, tokens: torch.Tensor) -> torch.Tensor:
        return embed(tokens) + ours.encoder.positional(torch.arange(tokens.size(1)))  # (B, L, D)

    # grad enabled: torch's reference path, not its fast path with nested tensors
    expected = ref(embedded(ours.encoder.embed, src), embedded(ours.decoder.embed, tgt), src_key_padding_mask=pad,
                   memory_key_padding_mask=pad, tgt_mask=~causal_mask(tgt.size(1)))
    memory, memory_mask = ours.encode(src)
    hidden, _ = ours.decoder(tgt, memory, memory_mask)  # (B, T, D), before the generator
    assert (hidden - expected).abs().max().item() <= ATOL
