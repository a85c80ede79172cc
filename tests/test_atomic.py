"""Atomic writes: a failed write leaves the previous file and no temporary behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sr_lab.atomic import atomic_write, current_umask
from sr_lab.evaluate import write_outputs


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="disk full"), atomic_write(target, "w") as f:
        f.write("partial")
        raise RuntimeError("disk full")
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]


def test_a_write_makes_parents_and_the_usual_mode(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "out.bin"
    with atomic_write(target) as f:
        f.write(b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert target.stat().st_mode & 0o777 == 0o666 & ~current_umask()  # not mkstemp's 0600
    assert [p.name for p in target.parent.iterdir()] == ["out.bin"]


def test_evaluation_results_are_written_whole_or_not_at_all(tmp_path: Path) -> None:
    scores = {"psnr": 30.0, "ssim": 0.9, "ms_ssim": 0.99}
    method = {"images": {"a.png": scores}, "mean": scores, "seconds": 1.0}
    results = {"datasets": {"toons": {"bicubic": method}}}
    write_outputs(results, tmp_path / "results.json")
    before = (tmp_path / "results.csv").read_text()
    assert json.loads((tmp_path / "results.json").read_text())["datasets"]["toons"]["bicubic"][
        "mean"
    ] == pytest.approx(scores)
    broken = {"datasets": {"toons": {"bicubic": {**method, "images": {"a.png": {}}}}}}
    with pytest.raises(KeyError):  # the CSV fails half-way through its rows
        write_outputs(broken, tmp_path / "results.json")
    assert (tmp_path / "results.csv").read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv", "results.json"]
