"""The smoke training entry point runs end to end and rejects unknown keys."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_train(*overrides: str, cwd: Path) -> subprocess.CompletedProcess:
    args = [sys.executable, "-m", "sr_lab.train", f"hydra.run.dir={cwd}/run", *overrides]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_smoke_training_reports_psnr(tmp_path: Path) -> None:
    small = [
        "data.batch_size=2",
        "data.num_workers=0",
        "data.source.train_count=2",
        "data.source.val_count=1",
        "data.source.size=64",
    ]
    result = run_train("model=vgg7", "steps=2", "log_every=1", *small, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[:2] for line in lines[:2]] == [["step", "1"], ["step", "2"]]
    assert lines[-1].startswith("val/psnr ") and "(bicubic " in lines[-1]
    assert (tmp_path / "run" / ".hydra" / "config.yaml").is_file()


def test_unknown_key_fails(tmp_path: Path) -> None:
    result = run_train("stepz=2", cwd=tmp_path)
    assert result.returncode != 0
    assert "Could not override 'stepz'" in result.stderr
