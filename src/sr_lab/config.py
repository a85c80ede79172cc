"""Where sr_lab's Hydra configs live, composing them from library code and tests, and the
resolvers the configs use (importing this module registers them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

# The configs ship inside the package (src/sr_lab/conf links to the repository's conf/).
CONF_DIR = Path(__file__).resolve().parent / "conf"


class RunDirectory(Callback):
    """A Hydra callback (conf/hydra/default.yaml) that remembers where a single run writes,
    before Hydra writes anything there itself, so ``cli.run_hydra`` can clear a failed one."""

    last: Path | None = None

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        RunDirectory.last = Path(config.hydra.run.dir)


def compose(name: str, overrides: list[str] | tuple[str, ...] = ()) -> DictConfig:
    """The config ``name`` (train, evaluate) composed with ``overrides``, as the CLI would."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    with initialize_config_dir(str(CONF_DIR), version_base="1.3"):
        return hydra_compose(name, overrides=list(overrides))


def build(cfg: DictConfig, key: str, **kwargs: Any) -> Any:
    """Instantiate ``cfg[key]``, turning a constructor's complaint into a one-line error."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    try:
        return instantiate(cfg[key], **kwargs)
    except InstantiationException as err:
        cause = err.__cause__ or err
        raise ValueError(f"{key}: {cause}") from None


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The CPU's feature flags (Linux); empty where they cannot be read."""
    try:
        lines = cpuinfo.read_text().splitlines()
    except OSError:
        return set()
    return next(
        (set(line.split(":", 1)[1].split()) for line in lines if line.startswith("flags")), set()
    )


def cpu_training_precision(flags: set[str] | None = None) -> str:
    """``bf16-mixed`` on CPUs with native bf16 (AVX512-BF16 or AMX), else ``32-true``: bf16
    without hardware support is emulated and many times slower than fp32."""
    flags = cpu_flags() if flags is None else flags
    return "bf16-mixed" if flags & {"avx512_bf16", "amx_bf16"} else "32-true"


def trains_on_cpu(accelerator: str) -> bool:
    """Whether a trainer with this ``accelerator`` runs on the CPU (``auto`` without CUDA)."""
    if accelerator == "auto":
        import torch

        return not torch.cuda.is_available()
    return accelerator == "cpu"


# ${cpu_precision:} in configs: the precision that is fastest on this machine's CPU
OmegaConf.register_new_resolver("cpu_precision", cpu_training_precision, replace=True)
# ${on_cpu:${trainer.accelerator}}: true where that trainer runs on the CPU
OmegaConf.register_new_resolver("on_cpu", trains_on_cpu, replace=True)
