"""Train the built-in grain-boundary model (``models/grain_boundaries.pt``) on synthetic images.

The model is a 4-level U-Net (``core.segment``, ``--base`` channels) that predicts grain
boundary vs interior on RGB input (grey images are repeated into three channels). Training data:
``--images`` synthetic micrographs of 512 x 512 px at 0.5 µm/px, alternately "etched" and
"tint", generator seeds ``--seed-base`` onwards (the refine benchmark uses seeds 0-39, so the
default base 1000 keeps them apart). Their twins, scratches, pits and line gaps are drawn at the
generator's random settings; only grain boundaries are labelled. ``--val-fraction`` of the
images are held out for early stopping. The weights are stored as float16 (half the file size;
they are cast back to float32 on loading).

The shipped file was made with the defaults and ``--device cuda`` on one NVIDIA H100 (511 s in
all, 463 s of training): validation boundary F1 0.865 at epoch 97 of 150. Since then each batch
is drawn with its own seeded generator (``core.segment.train.batches``), so a new run gives
other batches. ``--jobs`` and ``--workers`` change the speed, not the images or the batches.
``models/GRAIN_BOUNDARIES.md`` also lists the larger models tried and why they are not shipped.

Run: ``python scripts/train_grain_boundary_model.py [--out PATH] [--images N] [--epochs N]
[--steps N] [--batch N] [--crop PX] [--base N] [--jobs N] [--workers N] [--device cpu|cuda]``
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

OUT = Path(__file__).resolve().parents[1] / "napari_microstructure" / "models"


def _draw(args: tuple[int, int]) -> list:
    from napari_microstructure.core.segment.synthetic_data import synthetic_pairs

    n, seed = args
    return synthetic_pairs(
        "boundaries", n=n, shape=(512, 512), kinds=("etched", "tint"), in_channels=3, seed=seed
    )


def draw_pairs(n: int, seed_base: int, jobs: int) -> list:
    """``n`` training pairs from seed ``seed_base`` on, drawn by ``jobs`` processes.

    The pairs are the same whatever ``jobs``: every chunk starts at an even seed offset, so
    the etched / tint alternation follows the seed.
    """
    if jobs <= 1:
        return _draw((n, seed_base))
    step = 2 * max(1, n // (8 * jobs))
    chunks = [(min(step, n - a), seed_base + a) for a in range(0, n, step)]
    with ProcessPoolExecutor(jobs) as pool:
        return [pair for chunk in pool.map(_draw, chunks) for pair in chunk]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT / "grain_boundaries.pt")
    ap.add_argument("--images", type=int, default=256)
    ap.add_argument("--seed-base", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=150)
    ap.add_argument("--steps", type=int, default=50, help="batches per epoch")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--val-fraction", type=float, default=0.15, help="images held out")
    ap.add_argument("--base", type=int, default=16, help="channels of the first U-Net level")
    ap.add_argument("--jobs", type=int, default=1, help="processes drawing the images")
    ap.add_argument("--workers", type=int, default=0, help="threads drawing batches ahead")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="torch device of training ('cuda': a GPU)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    from napari_microstructure.core.segment.train import TrainConfig, train_model

    t0 = time.perf_counter()
    pairs = draw_pairs(args.images, args.seed_base, args.jobs)
    print(f"{time.perf_counter() - t0:7.0f} s  {len(pairs)} images drawn", flush=True)
    cfg = TrainConfig(
        task="boundaries",
        epochs=args.epochs,
        steps_per_epoch=args.steps,
        batch_size=args.batch,
        crop=args.crop,
        base=args.base,
        depth=4,
        val_fraction=args.val_fraction,
        patience=args.epochs,
        seed=0,
        pixel_size=0.5,
        device=args.device,
        workers=args.workers,
    )
    gen = train_model(pairs, cfg)
    try:
        while True:
            p = next(gen)
            if p.step % args.steps == 0:
                print(f"{time.perf_counter() - t0:7.0f} s  {p.message}", flush=True)
    except StopIteration as stop:
        model = stop.value
    model.net.half()  # stored as float16; load_model casts back
    model.save(args.out)
    print(f"saved {args.out}: validation {model.metrics['validation']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
