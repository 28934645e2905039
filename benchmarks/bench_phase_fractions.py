"""Phase fractions from a trained phases model, across compositions the training never showed.

Trains two U-Nets on the same 16 synthetic ferrite-pearlite images (256 px, 0.5 µm/px, pearlite
fraction 15-60 % as the generator draws it), side by side in one run:

- ``plain``: every training crop standardised with its whole image's statistics, as at
  prediction;
- ``recomposed``: half the crops standardised as if the phases covered other shares of the
  image (``TrainConfig.composition``, the default).

Both then segment new images of 3 % to 97 % pearlite (three seeds each, 384 px), and the
predicted pearlite fraction is printed against the true one, with the mean and largest
absolute error of each model.

Run: ``.venv/bin/python benchmarks/bench_phase_fractions.py [--seed 0] [--epochs 20]``
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

FRACTIONS = (0.03, 0.1, 0.3, 0.5, 0.8, 0.97)
TEST_SEEDS = (5001, 5002, 5003)


def train(composition: float, seed: int, epochs: int, steps: int):
    """A phases model on the fixed synthetic training set; returns it and its training time."""
    from napari_microstructure.core.progress import run_to_end
    from napari_microstructure.core.segment import TrainConfig, synthetic_pairs, train_model

    pairs = synthetic_pairs(
        "phases", n=16, shape=(256, 256), kinds=("ferrite_pearlite",), seed=100
    )
    cfg = TrainConfig(
        task="phases",
        epochs=epochs,
        steps_per_epoch=steps,
        seed=seed,
        pixel_size=0.5,
        composition=composition,
    )
    t0 = time.perf_counter()
    model = run_to_end(train_model(pairs, cfg))
    return model, time.perf_counter() - t0


def fractions(model) -> list[tuple[float, float]]:
    """(true, predicted) pearlite fraction of every test image."""
    from napari_microstructure.core.progress import run_to_end
    from napari_microstructure.core.segment.predict import segment_image
    from napari_microstructure.core.synthetic import generate

    out = []
    for frac in FRACTIONS:
        for seed in TEST_SEEDS:
            m = generate(
                "ferrite_pearlite",
                shape=(384, 384),
                pixel_size=0.5,
                seed=seed,
                pearlite_fraction=frac,
            )
            seg = run_to_end(segment_image(m.image, model, 0.5))
            out.append((float((m.phases == 1).mean()), float((seg.labels == 1).mean())))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0, help="training seed")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--steps", type=int, default=20, help="batches per epoch")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    results = {}
    for name, composition in (("plain", 0.0), ("recomposed", 0.5)):
        model, seconds = train(composition, args.seed, args.epochs, args.steps)
        results[name] = fractions(model)
        print(f"{name}: trained in {seconds:.0f} s", flush=True)
    print(f"{'target':>7} {'true':>6} {'plain':>7} {'recomposed':>10}")
    for i, (true, plain) in enumerate(results["plain"]):
        frac = FRACTIONS[i // len(TEST_SEEDS)]
        print(f"{frac:7.2f} {true:6.3f} {plain:7.3f} {results['recomposed'][i][1]:10.3f}")
    for name, rows in results.items():
        err = np.abs([p - t for t, p in rows])
        print(
            f"{name}: pearlite fraction error mean {err.mean():.3f}, largest {err.max():.3f} "
            f"({len(rows)} images)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
