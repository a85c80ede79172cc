"""The package as a user installs it: a wheel, installed (not editable) into a fresh venv,
run from a directory outside the checkout through its console commands."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from PIL import Image

from conftest import ROOT
from sr_lab import __version__, models

COMMANDS = ("train", "evaluate", "upscale", "compare", "plot", "bench", "export")


def run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(list(map(str, command)), cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@pytest.fixture(scope="module")
def venv_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding only the wheel built from this checkout; the dependencies come from the
    running environment's site-packages (a path entry: its editable sr_lab stays inactive)."""
    tmp = tmp_path_factory.mktemp("package")
    build = ["-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q"]
    run(sys.executable, *build, "-w", tmp / "wheel", ROOT, cwd=tmp)
    wheel = next((tmp / "wheel").glob("sr_lab-*.whl"))
    run(sys.executable, "-m", "venv", "--without-pip", tmp / "venv", cwd=tmp)
    python = tmp / "venv" / "bin" / "python"
    install = ["-m", "pip", "--python", python, "install", "--no-index", "--no-deps", "-q"]
    run(sys.executable, *install, wheel, cwd=tmp)
    inner = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp)
    outer = sysconfig.get_paths()["purelib"]
    (Path(inner.stdout.strip()) / "dependencies.pth").write_text(outer + "\n")
    return tmp / "venv" / "bin"


def test_installed_package_is_the_wheel(venv_bin: Path, tmp_path: Path) -> None:
    where = run(venv_bin / "python", "-c", "import sr_lab; print(sr_lab.__file__)", cwd=tmp_path)
    assert "site-packages" in where.stdout and str(ROOT) not in where.stdout
    sweepers = "from hydra.core.plugins import Plugins; from hydra.plugins.sweeper import Sweeper;"
    sweepers += "print([p.__name__ for p in Plugins.instance().discover(Sweeper)])"
    assert "OptunaSweeper" in run(venv_bin / "python", "-c", sweepers, cwd=tmp_path).stdout
    for name in COMMANDS:
        done = run(venv_bin / f"sr-lab-{name}", "--version", cwd=tmp_path)
        assert done.stdout.strip() == f"sr_lab {__version__}"


def test_installed_commands_train_and_upscale_outside_the_checkout(
    venv_bin: Path, tmp_path: Path
) -> None:
    mine = tmp_path / "my_conf" / "experiment"
    mine.mkdir(parents=True)
    (mine / "tiny.yaml").write_text("# @package _global_\nmodel:\n  layers: 3\n")
    train = [venv_bin / "sr-lab-train", "--config-dir", tmp_path / "my_conf", "experiment=tiny"]
    run(*train, "model=dcscn", "debug=smoke", f"hydra.run.dir={tmp_path / 'run'}", cwd=tmp_path)
    trained = models.load(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert (trained.arch, trained.config["layers"]) == ("dcscn", 3)
    Image.new("RGB", (20, 16), (200, 40, 90)).save(tmp_path / "in.png")
    run(venv_bin / "sr-lab-upscale", "in.png", "-o", "out.png", cwd=tmp_path)  # the wheel's model
    assert Image.open(tmp_path / "out.png").size == (40, 32)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "my_conf", "out.png", "run"]
