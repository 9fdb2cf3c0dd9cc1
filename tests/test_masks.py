import pytest
import torch

from seqlab.nn import KVCache, causal_mask, lengths_mask, padding_mask, resolve_causal


def test_causal_mask_with_offset():
    m = causal_mask(2, 5, offset=3)
    assert m.tolist() == [[True, True, True, True, False], [True, True, True, True, True]]
    assert torch.equal(causal_mask(4), torch.ones(4, 4).tril().bool())
    assert torch.equal(causal_mask(2, offset=3), m)  # k_len defaults to the queries' end


def test_causal_mask_is_bottom_right_by_default():
    """Fewer queries than keys: the queries are the last positions (a decoder continuing a prefix)."""
    expected = torch.ones(5, 5).tril().bool()[3:]  # rows 3 and 4 of the square mask
    assert torch.equal(causal_mask(2, 5), expected)


def test_padding_and_lengths_masks():
    tokens = torch.tensor([[5, 6, 0], [7, 0, 0]])
    m = padding_mask(tokens, pad_id=0)
    assert m.shape == (2, 1, 1, 3)
    assert m[:, 0, 0].tolist() == [[True, True, False], [True, False, False]]
    assert torch.equal(lengths_mask(torch.tensor([2, 1]), 3), m)


@pytest.mark.parametrize("q_len, k_len", [(4, 4), (1, 6), (3, 6)])
def test_resolve_causal_gives_the_same_visibility_every_way(q_len, k_len):
    """Whatever form the rule takes (SDPA's flag, no mask, an explicit mask), query i sees keys 0..k_len-q_len+i."""
    expected = torch.ones(k_len, k_len).tril().bool()[k_len - q_len :]
    mask, flag = resolve_causal(None, is_causal=True, q_len=q_len, k_len=k_len)
    if flag:  # only where SDPA's top-left flag agrees: a square
        assert mask is None and q_len == k_len
        seen = torch.ones(q_len, k_len).tril().bool()
    else:
        seen = torch.ones(q_len, k_len, dtype=torch.bool) if mask is None else mask
    assert torch.equal(seen, expected)
    explicit, flag = resolve_causal(None, is_causal=True, q_len=q_len, k_len=k_len, explicit=True)
    assert not flag and torch.equal(explicit, expected)


def test_resolve_causal_ands_with_a_mask_and_never_flags_then():
    pad = torch.tensor([True, True, False, True])[None, None, None, :]  # (1, 1, 1, Tk)
    mask, flag = resolve_causal(pad, is_causal=True, q_len=4, k_len=4)
    assert not flag and mask.shape == (1, 1, 4, 4)
    assert torch.equal(mask[0, 0], torch.ones(4, 4).tril().bool() & pad[0, 0])
    assert resolve_causal(pad, is_causal=False, q_len=4, k_len=4) == (pad, False)
    assert resolve_causal(None, is_causal=False, q_len=4, k_len=4) == (None, False)


def test_kv_cache_returns_keys_up_to_the_newest_query():
    cache = KVCache(1, 8, 1, 2)
    k = torch.arange(5.0)[None, None, :, None].expand(1, 1, 5, 2)
    keys, _ = cache.update(torch.arange(5), k, k)
    assert keys.shape[2] == 5 and cache.length == 5
    keys, _ = cache.update(torch.tensor([2]), k[:, :, :1] + 10, k[:, :, :1])  # write position 2 again
    assert keys.shape[2] == 3 and keys[0, 0, :, 0].tolist() == [0.0, 1.0, 10.0]  # so the query is the last
    with pytest.raises(ValueError, match="8 positions"):
        cache.update(torch.tensor([8]), k[:, :, :1], k[:, :, :1])
