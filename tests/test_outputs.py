"""Outputs are written last, to regular files by rename, never over an input or each other; a
failed or refused run changes nothing the user had."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gradfit.cli import main

RUN = ["fit", "--backend", "numpy", "--steps", "20", "--seed", "1", "--quiet"]


def refused(capsys: pytest.CaptureFixture[str], args: list[str], *names: str) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gradfit: error: "), err
    for name in names:
        assert name in err
    return err


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "d.csv").write_text("x,y\n1,2\n2,3\n3,5\n4,4\n5,6\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_an_output_on_an_input_or_on_another_output_is_refused(
    files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = (files / "d.csv").read_bytes()
    refused(capsys, ["fit", "--data", "d.csv", "--save", "d.csv"], "--save", "--data")
    refused(capsys, [*RUN, "--checkpoint", "X", "--save", "X"], "--save", "--checkpoint")
    refused(capsys, [*RUN, "--plot", "p.png", "--report", "p.png"], "--plot", "--report")
    refused(capsys, [*RUN, "--json", "j.json", "--save", "./j.json"], "--json", "--save")
    assert (files / "d.csv").read_bytes() == data
    assert sorted(p.name for p in files.iterdir()) == ["d.csv"]
    # --resume R --save R would destroy the checkpoint it continues
    assert main([*RUN, "--checkpoint", "r.ckpt"]) == 0
    ckpt = (files / "r.ckpt").read_bytes()
    refused(capsys, [*RUN, "--steps", "40", "--resume", "r.ckpt", "--save", "r.ckpt"], "--resume")
    assert (files / "r.ckpt").read_bytes() == ckpt
    # one file that is both --checkpoint and --resume is the documented restart idiom
    assert main([*RUN, "--steps", "40", "--checkpoint", "r.ckpt", "--resume", "r.ckpt"]) == 0
    # predict --out onto its own input
    assert main(["fit", "--data", "d.csv", "--quiet", "--save", "m.json"]) == 0
    capsys.readouterr()
    refused(capsys, ["predict", "m.json", "--data", "d.csv", "--out", "d.csv"], "--out")
    assert (files / "d.csv").read_bytes() == data


def test_a_symbolic_link_stays_a_link_and_a_device_stays_a_device(
    files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (files / "real.json").write_text("{}")
    (files / "link.json").symlink_to("real.json")
    assert main([*RUN, "--save", "link.json"]) == 0
    assert (files / "link.json").is_symlink()
    assert '"coef"' in (files / "real.json").read_text()
    assert main([*RUN, "--json", os.devnull, "--save", os.devnull]) == 0
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    capsys.readouterr()


def test_a_run_that_cannot_save_changes_none_of_the_outputs(
    files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("p.png", "j.json", "m.json", "r.md"):
        (files / name).write_text("mine")
    # no guard, a rate 1000x the stable one: the coefficients end infinite or NaN
    args = [*RUN, "--no-guard", "--lr", "1e-2", "--steps", "200"]
    outputs = ["--plot", "p.png", "--json", "j.json", "--save", "m.json", "--report", "r.md"]
    refused(capsys, [*args, *outputs], "cannot save m.json")
    assert all((files / n).read_text() == "mine" for n in ("p.png", "j.json", "m.json", "r.md"))


def test_a_diverged_run_records_its_failure_only_in_a_new_file(
    files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*RUN, "--lr", "1e-5", "--steps", "300"]
    assert main([*args, "--json", "new.json"]) == 1
    assert '"status": "diverged"' in (files / "new.json").read_text()
    capsys.readouterr()
    (files / "old.json").write_text("mine")
    assert main([*args, "--json", "old.json"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not written over the existing old.json" in err
    assert (files / "old.json").read_text() == "mine"
