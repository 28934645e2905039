"""What each U-Net training step gets: its batch (drawn ahead by threads) and learning rate."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np
import torch

from .augment import Augment, make_batch

if TYPE_CHECKING:
    from .train import TrainConfig


def batches(
    data: list[tuple[np.ndarray, np.ndarray]], cfg: TrainConfig, aug: Augment, steps: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The training batch of every step, ``cfg.workers`` threads drawing ahead.

    Batch ``k`` is drawn with its own generator seeded ``(cfg.seed, k)``, so the batches are the
    same whatever the number of workers.
    """

    def draw(k: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng((cfg.seed, k))
        return make_batch(data, cfg.batch_size, cfg.crop, rng, aug)

    if cfg.workers == 0:
        yield from map(draw, range(steps))
        return
    with ThreadPoolExecutor(cfg.workers) as pool:
        ahead = deque(pool.submit(draw, k) for k in range(min(2 * cfg.workers, steps)))
        for k in range(steps):
            batch = ahead.popleft().result()
            if k + len(ahead) + 1 < steps:
                ahead.append(pool.submit(draw, k + len(ahead) + 1))
            yield batch


def one_cycle(step: int, total: int, peak: float, warmup: float = 0.1) -> float:
    """Learning rate: linear warm-up to ``peak``, then cosine decay to ``peak / 100``."""
    up = max(1, int(total * warmup))
    if step < up:
        return peak * (0.1 + 0.9 * step / up)
    frac = (step - up) / max(1, total - up)
    return peak * (0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * frac)))
