"""Learning-rate schedules, all stepped once per optimiser step. Each factory takes the
optimiser, the run's total steps and the samples per step (over all ranks)."""

from __future__ import annotations

import math

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR, LRScheduler


def constant(optimizer: Optimizer, total_steps: int, samples_per_step: int) -> LRScheduler:
    """The learning rate never changes."""
    return LambdaLR(optimizer, lambda step: 1.0)


def waifu2x(
    optimizer: Optimizer, total_steps: int, samples_per_step: int, decay: float = 3e-7
) -> LRScheduler:
    """waifu2x's decay: lr = lr0 / (1 + decay * samples seen)."""
    if decay < 0:
        raise ValueError(f"scheduler.decay must be >= 0, got {decay}")
    return LambdaLR(optimizer, lambda step: 1.0 / (1.0 + decay * step * samples_per_step))


def step(
    optimizer: Optimizer,
    total_steps: int,
    samples_per_step: int,
    every: int = 10_000,
    gamma: float = 0.5,
) -> LRScheduler:
    """Multiply the learning rate by ``gamma`` every ``every`` steps."""
    if every < 1 or not 0 < gamma <= 1:
        raise ValueError("scheduler.every must be >= 1 and scheduler.gamma in (0, 1]")
    return LambdaLR(optimizer, lambda s: gamma ** (s // every))


def cosine(
    optimizer: Optimizer, total_steps: int, samples_per_step: int, min_ratio: float = 0.0
) -> LRScheduler:
    """Cosine from lr0 down to ``min_ratio * lr0`` over the whole run."""
    span = max(1, total_steps)

    def factor(s: int) -> float:
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * min(s, span) / span))

    return LambdaLR(optimizer, factor)
