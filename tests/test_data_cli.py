"""`seqlab data list|show` through seqlab.cli.main."""

from seqlab.cli import main


def test_list_shows_datasets_sizes_and_where_they_are(data_dir, capsys):
    assert main(["data", "list", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "train 29,000, validation 1,014, test 1,000" in lines["multi30k"]
    assert lines["sst2"].endswith("local")
    assert lines["text8"].endswith("download")  # not in shared/data


def test_show_prints_size_and_examples(data_dir, capsys):
    assert main(["data", "show", "sst2", "--split", "dev", "-n", "2", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "split validation: 872 examples (TextLabel)" in out
    assert "text: it 's a charming and often affecting journey ." in out
    assert "[1]" in out and "[2]" not in out


def test_show_passes_dataset_options(data_dir, capsys):
    assert main(["data", "show", "ucr", "--name", "GunPoint", "--split", "test", "-n", "1",
                 "--data-dir", str(data_dir)]) == 0
    assert "split test: 150 examples (Series)" in capsys.readouterr().out
    assert main(["data", "show", "babi", "--task", "2", "--size", "10k", "-n", "0", "--data-dir", str(data_dir)]) == 0
    assert "split train: 10,000 examples" in capsys.readouterr().out


def test_show_skip_bad_reports_the_count(tmp_path, capsys):
    (tmp_path / "sst2").mkdir()
    (tmp_path / "sst2" / "dev.tsv").write_text("sentence\tlabel\ngood \t1\nbroken row\nmeh \tx\n")
    assert main(["data", "show", "sst2", "--split", "dev", "--data-dir", str(tmp_path)]) == 2
    assert "dev.tsv:3: expected 2 columns, got 1" in capsys.readouterr().err
    assert main(["data", "show", "sst2", "--split", "dev", "--skip-bad", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "split validation: 1 examples" in out
    assert "skipped 2 bad row(s); first:" in out and "dev.tsv:3:" in out


def test_bad_input_is_one_line_and_exit_2(data_dir, capsys):
    for argv, message in [
        (["data", "show", "nope"], "unknown dataset 'nope'"),
        (["data", "show", "sst2", "--split", "dev2"], "sst2 has the split(s) train, validation, test"),
        (["data", "show", "sst2", "--task", "3"], "sst2 has no option task"),
        (["data", "show", "ucr"], "ucr needs a dataset name"),
        (["data", "show", "sst2", "-n", "-1"], "-n must be 0 or more"),
    ]:
        assert main([*argv, "--data-dir", str(data_dir)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
