"""Vanishing-gradient plot: the curves have the lecture's shape, and the gradients are torch's own."""

import argparse

import numpy as np
import pytest
import torch
from torch import nn

from seqlab.errors import SeqlabError
from seqlab.viz import cli
from seqlab.viz.gradients import (
    decay_per_step,
    gradient_norms,
    hidden_state_gradients,
    plot_gradient_norms,
    random_inputs,
    untrained_recurrent,
)

SMALL = {"steps": 60, "input_size": 16, "hidden_size": 32, "seed": 0}


@pytest.fixture(scope="module")
def norms():
    return {cell: gradient_norms(cell, **SMALL) for cell in ("rnn", "lstm", "gru")}


def test_rnn_gradient_vanishes_orders_of_magnitude_faster_than_gated_cells(norms):
    ratio = {cell: values[0] / values[-1] for cell, values in norms.items()}  # |dL/dh_1| / |dL/dh_T|
    assert ratio["rnn"] < 1e-4 * ratio["lstm"]
    assert ratio["rnn"] < 1e-4 * ratio["gru"]
    assert decay_per_step(norms["rnn"]) < decay_per_step(norms["lstm"]) < 1.0


def test_the_rnn_curve_is_an_exponential_decay(norms):
    log_norms = np.log(norms["rnn"])
    assert log_norms[0] < log_norms[-1] + 30  # ~1e-18 at step 1: vanished
    slope, intercept = np.polyfit(np.arange(len(log_norms)), log_norms, 1)
    residual = log_norms - (slope * np.arange(len(log_norms)) + intercept)
    r2 = 1 - residual.var() / log_norms.var()
    assert slope > 0 and r2 > 0.99  # a straight line on the log scale
    assert np.isclose(np.exp(slope), decay_per_step(norms["rnn"]) ** -1, rtol=0.05)


def test_forget_gate_bias_slows_the_lstm_decay():
    base = gradient_norms("lstm", **SMALL)
    biased = gradient_norms("lstm", **SMALL, carry_bias=1.0)
    assert biased[0] / biased[-1] > 1e3 * base[0] / base[-1]


@pytest.mark.parametrize(("cell", "reference"), [("rnn", nn.RNN), ("lstm", nn.LSTM), ("gru", nn.GRU)])
def test_gradients_match_torch_recurrent_layers(cell, reference):
    """dL/dh_t through torch.nn.{RNN,LSTM,GRU} run one step at a time (so each h_t is a node we can ask about)."""
    x = random_inputs(12, 5, batch=3, seed=1)  # (B, T, I)
    ours = untrained_recurrent(cell, 5, 7, seed=2)
    ref = reference(5, 7, batch_first=True).double()
    ref.load_state_dict(ours.state_dict())
    state, hs = None, []
    for t in range(x.size(1)):
        _, state = ref(x[:, t : t + 1], state)
        hs.append(state[0] if cell == "lstm" else state)  # (1, B, H): the node the next step reads
    expected = torch.cat(torch.autograd.grad(hs[-1].sum(), hs))  # (T, B, H)
    torch.testing.assert_close(hidden_state_gradients(ours, x), expected, rtol=1e-10, atol=1e-14)


def test_the_same_seed_gives_the_same_inputs_and_curves():
    assert torch.equal(random_inputs(5, 3, seed=4), random_inputs(5, 3, seed=4))
    np.testing.assert_array_equal(gradient_norms("gru", steps=8, input_size=3, hidden_size=4, seed=4),
                                  gradient_norms("gru", steps=8, input_size=3, hidden_size=4, seed=4))


def test_plot_is_written_with_one_line_per_cell(norms, tmp_path):
    path = tmp_path / "gradients.png"
    fig = plot_gradient_norms(norms, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5_000
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert [line.get_label().split()[0] for line in ax.lines] == ["RNN", "LSTM", "GRU"]
    np.testing.assert_allclose(ax.lines[0].get_xydata(), np.c_[np.arange(1, 61), norms["rnn"]])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    cli.add_commands(parser.add_subparsers(dest="command"))
    return parser


def test_cli_draws_the_plot_and_prints_the_table(tmp_path, capsys):
    out = tmp_path / "g.png"
    args = _parser().parse_args(["viz", "gradients", "--out", str(out), "--steps", "60", "--hidden", "16",
                                 "--input", "8", "--cells", "rnn,lstm"])
    args.handler(args)
    printed = capsys.readouterr().out
    assert out.stat().st_size > 5_000
    rows = {line.split()[0]: line.split()[1:] for line in printed.splitlines() if line.split()[:1] in (["rnn"],
                                                                                                      ["lstm"])}
    assert set(rows) == {"rnn", "lstm"} and all(len(r) == 6 for r in rows.values())  # 4 steps, ratio, per step
    expected = gradient_norms("rnn", steps=60, input_size=8, hidden_size=16)
    assert [float(v) for v in rows["rnn"][:4]] == pytest.approx(expected[[59, 49, 9, 0]], rel=1e-2)


@pytest.mark.parametrize(("argv", "message"), [(["--cells", "rnn,transformer"], "--cells"),
                                               (["--steps", "0"], "--steps")])
def test_cli_errors_are_seqlab_errors(argv, message, tmp_path):
    args = _parser().parse_args(["viz", "gradients", "--out", str(tmp_path / "g.png"), *argv])
    with pytest.raises(SeqlabError, match=message):
        args.handler(args)


def test_cli_takes_the_lecture_gru(tmp_path, capsys):
    args = _parser().parse_args(["viz", "gradients", "--out", str(tmp_path / "g.png"), "--steps", "20", "--hidden",
                                 "8", "--input", "4", "--cells", "gru,gru_lecture"])
    args.handler(args)
    rows = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()[1:-1]}
    assert list(rows) == ["cell", "gru", "gru_lecture"]
    for cell in ("gru", "gru_lecture"):
        expected = gradient_norms(cell, steps=20, input_size=4, hidden_size=8, carry_bias=cli.DEFAULT_CARRY_BIAS)
        assert [float(v) for v in rows[cell][:3]] == pytest.approx(expected[[19, 9, 0]], rel=1e-2)
    assert rows["gru"][:3] != rows["gru_lecture"][:3]  # same weights (same seed), different equations


def test_cli_cells_are_the_recurrent_cells():
    from seqlab.nn.recurrent import CELLS

    assert tuple(CELLS) == cli.CELLS and set(cli.DEFAULT_CELLS) <= set(CELLS)


def test_the_default_picture_shows_the_rnn_vanishing_far_faster_than_the_gated_cells():
    """What the lecture says, with the gate bias the command uses by default (and states)."""
    from seqlab.viz.cli import DEFAULT_CARRY_BIAS

    ratio = {cell: (lambda v: v[0] / v[-1])(gradient_norms(cell, steps=60, hidden_size=32, input_size=16,
                                                          carry_bias=DEFAULT_CARRY_BIAS))
             for cell in ("rnn", "lstm", "gru", "gru_lecture")}
    for gated in ("lstm", "gru", "gru_lecture"):
        assert ratio[gated] > 1e6 * ratio["rnn"], ratio  # at least six orders of magnitude more gradient at t=1
    plain = gradient_norms("lstm", steps=60, hidden_size=32, input_size=16, carry_bias=0.0)
    assert plain[0] / plain[-1] < 1e-3 * ratio["lstm"]  # the bias is what makes the difference untrained


@pytest.mark.parametrize(("argv", "says"), [
    (["--steps", str(10**9)], "--steps must lie in 1..10000"),
    (["--hidden", "0"], "--hidden must lie in 1..4096"),
    (["--hidden", "5000"], "--hidden must lie in 1..4096"),
    (["--input", str(10**6)], "--input must lie in 1..4096"),
    (["--carry-bias", "nan"], "--carry-bias"),
    (["--forget-bias", "nan"], "--forget-bias) must be a finite number"),
    (["--forget-bias", "inf"], "--forget-bias) must be a finite number"),
    (["--forget-bias=-inf"], "--forget-bias) must be a finite number"),  # "=": argparse takes -inf as an option
    (["--forget-bias", "1e300"], "--forget-bias) must be a finite number in [-20, 20]"),
])
def test_viz_values_are_bounded(argv, says, tmp_path, capsys):
    from seqlab.cli import main

    assert main(["viz", "gradients", "--out", str(tmp_path / "g.png"), *argv]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.splitlines()) == 1 and not (tmp_path / "g.png").exists()
    assert "Traceback" not in err


def test_viz_out_must_be_a_writable_file_path(tmp_path, capsys, monkeypatch):
    """--out DIR and --out FILE/x.png: one line, exit 2, before any gradient is computed."""
    from seqlab.cli import main
    from seqlab.viz import gradients

    monkeypatch.setattr(gradients, "gradient_norms", lambda *a, **k: pytest.fail("computed before --out was checked"))
    (tmp_path / "notes.txt").write_text("a file\n")
    for out, says in ((tmp_path, "is a directory"), (tmp_path / "notes.txt" / "x.png", "is a file")):
        assert main(["viz", "gradients", "--out", str(out), "--steps", "5", "--hidden", "4", "--input", "4"]) == 2
        captured = capsys.readouterr()
        assert says in captured.err and len(captured.err.splitlines()) == 1, captured.err
        assert "Traceback" not in captured.err + captured.out
    assert (tmp_path / "notes.txt").read_text() == "a file\n"


def _table(printed: str) -> dict[str, list[float]]:
    return {line.split()[0]: [float(v) for v in line.split()[1:]] for line in printed.splitlines()
            if line.split()[:1] and line.split()[0] in cli.CELLS}


def test_the_default_command_shows_the_rnn_vanishing_far_faster_and_says_why(tmp_path, capsys, monkeypatch):
    """`seqlab viz gradients` with its defaults (only smaller): the RNN's t=1 gradient lies orders of magnitude
    below the LSTM's and the GRU's, and the header and the plot title state the gate bias that shows it."""
    from seqlab.cli import main
    from seqlab.viz import gradients

    titles = []
    plot = gradients.plot_gradient_norms
    monkeypatch.setattr(gradients, "plot_gradient_norms",
                        lambda norms, path, *, title: titles.append(title) or plot(norms, path, title=title))
    small = ["--steps", "60", "--hidden", "32", "--input", "16"]
    assert main(["viz", "gradients", "--out", str(tmp_path / "g.png"), *small]) == 0
    printed = capsys.readouterr().out
    header = printed.splitlines()[0]
    assert "carry-gate bias +1" in header and "LSTM forget gate" in header and "GRU update gate" in header
    assert "carry-gate bias +1" in titles[-1] and "LSTM forget gate" in titles[-1]
    rows = _table(printed)
    assert list(rows) == list(cli.DEFAULT_CELLS)
    t1 = {cell: values[3] for cell, values in rows.items()}  # columns t=T, t=T-10, t=T-50, t=1, ratio, per step
    for gated in ("lstm", "gru"):
        assert t1[gated] > 1e6 * t1["rnn"], t1  # at least six orders of magnitude at t=1
        expected = gradient_norms(gated, steps=60, hidden_size=32, input_size=16, carry_bias=1.0)
        assert t1[gated] == pytest.approx(expected[0], rel=1e-2)
    assert rows["rnn"][5] < rows["lstm"][5] and rows["rnn"][5] < rows["gru"][5]  # decay per step

    assert main(["viz", "gradients", "--out", str(tmp_path / "g0.png"), *small, "--forget-bias", "0"]) == 0
    printed = capsys.readouterr().out
    assert "PyTorch's initialisation" in printed.splitlines()[0] and "PyTorch's initialisation" in titles[-1]
    plain = _table(printed)
    assert plain["rnn"] == rows["rnn"]  # the RNN has no gate to bias
    for gated in ("lstm", "gru"):
        expected = gradient_norms(gated, steps=60, hidden_size=32, input_size=16, carry_bias=0.0)
        assert plain[gated][3] == pytest.approx(expected[0], rel=1e-2)
        assert plain[gated][3] < 1e-3 * t1[gated]


@pytest.mark.parametrize(("cell", "sign"), [("rnn", 0), ("lstm", 1), ("gru", 1), ("gru_lecture", -1)])
def test_carry_bias_zero_is_pytorch_init_and_the_bias_moves_only_the_carry_gate(cell, sign):
    """--forget-bias 0: every parameter uniform(-1/sqrt(H), 1/sqrt(H)), as torch.nn.{RNN,LSTM,GRU} draw them;
    a bias b adds exactly b to the LSTM forget gate / GRU update gate (subtracts it for the lecture GRU's z)."""
    hidden = 8
    plain = untrained_recurrent(cell, 5, hidden, seed=3, carry_bias=0.0)
    biased = untrained_recurrent(cell, 5, hidden, seed=3, carry_bias=1.0)
    bound = 1.0 / hidden**0.5
    for p in plain.parameters():
        assert p.abs().max() <= bound
    diff = {name: biased.state_dict()[name] - p for name, p in plain.state_dict().items()}
    for name, d in diff.items():
        if name == "bias_ih_l0" and sign:
            torch.testing.assert_close(d[hidden : 2 * hidden], torch.full((hidden,), float(sign), dtype=d.dtype))
            d = torch.cat([d[:hidden], d[2 * hidden :]])
        assert torch.count_nonzero(d) == 0, name
