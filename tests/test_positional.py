import math

import torch

from seqlab.nn import LearnedPositionalEmbedding, ScaledEmbedding, SinusoidalPositionalEncoding, sinusoidal_table


def test_sinusoidal_values_follow_the_paper():
    d = 16
    table = sinusoidal_table(50, d)
    for pos in (0, 1, 7, 49):
        for i in range(d // 2):
            angle = pos / 10000 ** (2 * i / d)
            assert math.isclose(table[pos, 2 * i].item(), math.sin(angle), abs_tol=1e-6)
            assert math.isclose(table[pos, 2 * i + 1].item(), math.cos(angle), abs_tol=1e-6)


def test_pe_at_pos_plus_k_is_a_fixed_linear_map_of_pe_at_pos():
    """PE(pos + k) = M_k PE(pos), M_k block-diagonal with 2x2 rotations by k * w_i (paper, section 3.5)."""
    d, k = 32, 5
    table = sinusoidal_table(200, d).double()
    w = 1.0 / 10000 ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
    M = torch.zeros(d, d, dtype=torch.float64)
    for i, wi in enumerate(w):
        c, s = math.cos(k * wi), math.sin(k * wi)
        # [sin(a + b), cos(a + b)] = [[cos b, sin b], [-sin b, cos b]] [sin a, cos a]
        M[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = torch.tensor([[c, s], [-s, c]], dtype=torch.float64)
    torch.testing.assert_close(table[:-k] @ M.T, table[k:], atol=1e-5, rtol=0)


def test_sinusoidal_module_indexes_positions():
    pe = SinusoidalPositionalEncoding(8, max_len=20)
    torch.testing.assert_close(pe(torch.tensor([3, 4])), sinusoidal_table(20, 8)[3:5])
    assert not list(pe.parameters())


def test_learned_positions_are_parameters():
    pe = LearnedPositionalEmbedding(8, max_len=10)
    assert pe(torch.arange(4)).shape == (4, 8)
    assert sum(p.numel() for p in pe.parameters()) == 80


def test_scaled_embedding_multiplies_by_sqrt_d():
    emb = ScaledEmbedding(10, 16, padding_idx=0)
    tokens = torch.tensor([[0, 3]])
    torch.testing.assert_close(emb(tokens), emb.embedding(tokens) * 4.0)
    assert torch.all(emb(tokens)[0, 0] == 0)
