"""The benchmarks' agreement checks can fail, and a failing benchmark fails ``benchmarks/run.py`` (CI runs it)."""

import sys
from pathlib import Path

import pytest
import torch

sys.path.append(str(Path(__file__).resolve().parents[1] / "benchmarks"))  # scripts, not a package

import gpt_vs_hf
import run
import transformer_vs_torch
from common import BenchmarkMismatch, check_close

from seqlab.models import Transformer, TransformerConfig


def test_check_close_scales_the_tolerance_with_the_reference():
    assert check_close(torch.tensor([100.0]), torch.tensor([100.005]), "x", tol=1e-4) == pytest.approx(0.005, 1e-3)
    with pytest.raises(BenchmarkMismatch, match=r"x: max difference 0\.02 > tolerance 0\.0001"):
        check_close(torch.tensor([100.0]), torch.tensor([100.02]), "x", tol=1e-4)


def test_the_transformer_benchmark_checks_that_both_models_compute_the_same_function():
    torch.manual_seed(0)
    cfg = TransformerConfig.from_name("tiny", src_vocab_size=20, tgt_vocab_size=20, share_embeddings=True,
                                      max_len=16)
    ours, ref = Transformer.from_config(cfg), transformer_vs_torch.TorchSeq2Seq(cfg)
    src, tgt = torch.randint(4, 20, (3, 6)), torch.randint(4, 20, (3, 5))
    with pytest.raises(BenchmarkMismatch, match=r"logits, ours vs nn\.Transformer"):  # different weights
        transformer_vs_torch.check_agreement(ours, ref, src, tgt, steps=4)
    transformer_vs_torch.copy_into_ours(ours, ref)
    assert "greedy tokens cached = uncached" in transformer_vs_torch.check_agreement(ours, ref, src, tgt, steps=4)


def test_the_gpt_benchmark_checks_logits_gradients_and_generation_against_hf():
    from dataclasses import replace

    cfg = replace(gpt_vs_hf.NANOGPT_CPU, n_layers=1, d_model=32, n_heads=2, n_positions=16)
    ours, ref = gpt_vs_hf.build_pair(cfg)
    batch, prompt = gpt_vs_hf.random_batch(cfg, 2, seed=0), torch.randint(0, cfg.vocab_size, (2, 3))
    assert "cached = uncached = HF generate" in gpt_vs_hf.check_agreement(ours, ref, batch, prompt, 8)
    other, _ = gpt_vs_hf.build_pair(cfg, seed=1)  # different weights
    with pytest.raises(BenchmarkMismatch, match=r"logits, ours vs HF"):
        gpt_vs_hf.check_agreement(other, ref, batch, prompt, 8)
    with torch.no_grad():
        ref.transformer.h[0].mlp.c_fc.bias += 0.5  # HF's zero biases of a bias-free model made non-zero
    with pytest.raises(BenchmarkMismatch):
        gpt_vs_hf.check_agreement(ours, ref, batch, prompt, 8)


def test_a_failing_benchmark_fails_the_run_after_the_others_ran(monkeypatch, tmp_path, capsys):
    def disagrees(quick: bool, force_bf16: bool) -> list[dict]:
        check_close(torch.zeros(2), torch.ones(2), "ours vs reference", tol=1e-4)
        return []

    def agrees(quick: bool, force_bf16: bool) -> list[dict]:
        return [{"benchmark": "agrees", "what": "nothing", "precision": "fp32", "note": f"quick={quick}"}]

    monkeypatch.setattr(run, "BENCHMARKS", {"disagrees": disagrees, "agrees": agrees})
    monkeypatch.setattr(sys, "argv", ["run.py", "--quick", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="benchmarks failed: disagrees"):
        run.main()
    assert "FAILED disagrees" in capsys.readouterr().out
    assert '"quick=True"' in (tmp_path / "agrees.json").read_text()


def test_the_ucr_anchors_cover_every_staged_set_and_match_the_issue():
    import ucr

    published = ucr.published()
    assert set(published) == set(ucr.STAGED)
    # the issue's anchors (ROCKET / MiniRocket / InceptionTime / ResNet / 1-NN DTW)
    assert [published["GunPoint"][k] for k in ucr.PUBLISHED] == [1.0, 0.992, 1.0, 0.991, 0.913]
    assert [published["OSULeaf"][k] for k in ucr.PUBLISHED] == [0.941, 0.958, 0.942, 0.980, 0.612]


def test_the_ucr_ablation_counts_a_difference_only_beyond_two_standard_errors():
    import ucr

    def cell(mean, sd):
        return {"mean": mean, "sd": sd, "seeds": 3}

    # 2 standard errors: A 0.026, B 0.059, C 0.115
    summary = {"A": {"keras": cell(0.9, 0.01), "keras_noattn": cell(0.8, 0.02)},
               "B": {"keras": cell(0.80, 0.05), "keras_noattn": cell(0.82, 0.01)},
               "C": {"keras": cell(0.5, 0.0), "keras_noattn": cell(0.7, 0.1)}}
    result = ucr.ablation(summary)
    assert [r["verdict"] for r in result["rows"]] == ["helps", "no difference", "hurts"]
    assert (result["helps"], result["hurts"]) == (1, 1)


def test_rocket_runs_on_a_staged_set(data_dir):
    pytest.importorskip("sktime")
    import ucr_rocket

    row = ucr_rocket.run_rocket("ItalyPowerDemand", str(data_dir), n_kernels=200)
    assert row["accuracy"] > 0.85 and row["library"].startswith("sktime")


def test_the_ucr_means_keep_the_published_resnet_apart_from_ours(capsys):
    import ucr

    summary = {"GunPoint": {"resnet": {"mean": 0.5, "sd": 0.0, "seeds": 1, "epochs": 1, "capped": 0,
                                       "train_seconds": 1.0}}}
    avg = ucr.print_tables(summary, ["resnet"], ucr.published(), {})
    assert avg["published_resnet"] == 0.991 and avg["resnet"] == 0.5
