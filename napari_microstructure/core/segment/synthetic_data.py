"""Training pairs drawn from the synthetic micrograph generator (pretraining, tests, demos)."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

from ..progress import Progress
from .data import Pair, make_pair
from .model import SegModel, load_model
from .train import TrainConfig, train_model

#: Synthetic kinds used by default for each task.
DEFAULT_KINDS = {"phases": ("precipitates", "ferrite_pearlite"), "boundaries": ("etched", "tint")}
#: The built-in grain-boundary model: 256 synthetic micrographs (models/GRAIN_BOUNDARIES.md).
BUILTIN_BOUNDARY_MODEL = Path(__file__).resolve().parents[2] / "models" / "grain_boundaries.pt"


def synthetic_pairs(
    task: str,
    n: int = 8,
    shape: tuple[int, int] = (256, 256),
    kinds: tuple[str, ...] | None = None,
    in_channels: int = 1,
    seed: int = 0,
    pixel_size: float = 0.5,
    **params,
) -> list[Pair]:
    """``n`` synthetic image/mask pairs for ``task`` (phase ids, or drawn boundary lines)."""
    from ..synthetic import generate

    kinds = kinds or DEFAULT_KINDS[task]
    pairs = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        m = generate(kind, shape=shape, pixel_size=pixel_size, seed=seed + i, **params)
        mask = m.boundaries.astype("uint8") if task == "boundaries" else m.phases
        pairs.append(make_pair(m.image, mask, task, in_channels, f"synthetic:{kind}:{seed + i}"))
    return pairs


def pretrain_synthetic(
    task: str,
    in_channels: int = 1,
    n_images: int = 8,
    epochs: int = 5,
    base: int = 16,
    depth: int = 3,
    seed: int = 0,
    out: str | Path | None = None,
    kinds: tuple[str, ...] | None = None,
    shape: tuple[int, int] = (256, 256),
    **train_options,
) -> Generator[Progress, None, SegModel]:
    """A starting model trained on synthetic micrographs (no weights can be downloaded).

    Its layers (all but the class head, when the class count differs) initialise a model
    trained afterwards on real annotations via ``train_model(..., init=model)``.
    ``train_options`` are further :class:`TrainConfig` fields (crop, steps_per_epoch, ...).
    """
    yield Progress(0, 1, "drawing synthetic micrographs")
    pairs = synthetic_pairs(task, n_images, shape, kinds, in_channels=in_channels, seed=seed)
    cfg = TrainConfig(
        task=task,
        epochs=epochs,
        base=base,
        depth=depth,
        seed=seed,
        **{"val_fraction": 0.25, "patience": epochs, **train_options},
    )
    model = yield from train_model(pairs, cfg, training_data=[p.name for p in pairs])
    if out is not None:
        model.save(out)
    return model


def synthetic_start(
    task: str,
    in_channels: int = 1,
    base: int = 16,
    depth: int = 4,
    n_images: int = 8,
    seed: int = 0,
) -> Generator[Progress, None, SegModel]:
    """Starting weights learned on synthetic micrographs, for a network of ``task``.

    A grain-boundary network of the built-in model's width and depth starts from that model
    (trained on 256 synthetic micrographs; on the real tint-etched crops of docs/segment.md it
    reaches the from-scratch validation score in about half the epochs). Anything else is
    pretrained briefly on ``n_images`` synthetic micrographs (:func:`pretrain_synthetic`).
    """
    if task == "boundaries":
        builtin = load_model(BUILTIN_BOUNDARY_MODEL)
        if (builtin.net.base, builtin.net.depth) == (base, depth):
            yield Progress(1, 1, "starting from the built-in grain-boundary model")
            return builtin
    return (
        yield from pretrain_synthetic(
            task, in_channels, n_images, base=base, depth=depth, seed=seed
        )
    )
