"""Classify benchmark: accuracy, "none of these" rates, magnification ablation and timings.

Trains on synthetic microstructure classes (at most 30 images per class, pixel sizes spread
0.2-0.8 µm/px), holds out new images of the same classes and of one class never trained on
(``dendritic``), and prints, side by side in one run:

- training time, per-image classification time with the number of crops;
- held-out accuracy, counted two ways: open set (a "none of these" answer counts as wrong)
  and closed set (the most probable of the trained classes, "none of these" set aside: how
  well the model tells the known classes apart; rejections are the separate next figure),
  the fraction of known-class images called "none of these", and the fraction of
  unknown-class images called so;
- the same model with its pixel-size input scrambled (true pixel sizes shuffled among the
  held-out images) and removed (no pixel size: the training typical value is assumed).

The unknown class gets ``--n-unknown`` held-out images (30 by default; the first 12 are the
images of earlier runs with 12, and their rate is printed too). ``--save M.pt`` keeps the
trained model; ``--model M.pt`` (with the same ``--seed`` and data options) skips training and
re-fits only the "none of these" densities and thresholds of that saved network with the
current rule, which gives what a full run with that rule gives, in a minute instead of six.

Run: ``.venv/bin/python benchmarks/bench_classify.py [--steps 800] [--n-train 30] [--seed 0]
[--n-unknown 30] [--calib-fraction 0.3] [--save M.pt | --model M.pt]``
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch

from napari_microstructure.core.classify import (
    NONE_OF_THESE,
    TrainConfig,
    classify_image,
    load_classifier,
    train_classifier,
)
from napari_microstructure.core.classify.synthetic_set import KNOWN_CLASSES, synthetic_samples
from napari_microstructure.core.classify.train import recalibrate
from napari_microstructure.core.progress import run_to_end


def closed_set(probabilities: dict[str, float]) -> str:
    """The most probable trained class, "none of these" set aside."""
    known = {k: v for k, v in probabilities.items() if k != NONE_OF_THESE}
    return max(known, key=known.get)


def evaluate(model, samples, pixel_sizes, n_crops: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Predicted and closed-set names for ``samples`` at ``pixel_sizes``; seconds per image."""
    t0 = time.perf_counter()
    out = [
        classify_image(model, s.image, ps, n_crops=n_crops, seed=i)
        for i, (s, ps) in enumerate(zip(samples, pixel_sizes, strict=True))
    ]
    seconds = (time.perf_counter() - t0) / max(len(samples), 1)
    preds = np.array([o.predicted for o in out])
    return preds, np.array([closed_set(o.probabilities) for o in out]), seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-train", type=int, default=30, help="images per class for training")
    ap.add_argument("--n-test", type=int, default=12, help="held-out images per class")
    ap.add_argument(
        "--n-unknown", type=int, default=30, help="held-out images of the unknown class"
    )
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--crops", type=int, default=64, help="crops per image at prediction")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--calib-fraction",
        type=float,
        default=TrainConfig.calib_fraction,
        help="fraction of each class's images held out of network training",
    )
    ap.add_argument("--save", help="save the trained model here")
    ap.add_argument(
        "--model", help="re-calibrate this saved network (trained with the same options)"
    )
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    train = synthetic_samples(KNOWN_CLASSES, args.n_train, seed=args.seed + 1)
    test = synthetic_samples(KNOWN_CLASSES, args.n_test, seed=args.seed + 2)
    unknown = synthetic_samples(["dendritic"], args.n_unknown, seed=args.seed + 3)
    print(
        f"data: {len(KNOWN_CLASSES)} classes x {args.n_train} training images, "
        f"{len(test)} held-out known + {len(unknown)} held-out unknown (dendritic), "
        f"256x256 px at 0.2-0.8 µm/px; generated in {time.perf_counter() - t0:.1f} s"
    )

    cfg = TrainConfig(steps=args.steps, seed=args.seed, calib_fraction=args.calib_fraction)
    t0 = time.perf_counter()
    if args.model:
        model = run_to_end(recalibrate(load_classifier(args.model), train, cfg))
        t_train = float(model.info.get("total_seconds", float("nan")))  # when it was trained
        print(
            f"network of {args.model} re-calibrated in {time.perf_counter() - t0:.1f} s "
            f"(trained there in {model.info['train_seconds']:.1f} s); calibration crop "
            f"accuracy {model.info['calibration_crop_accuracy']:.3f}"
        )
    else:
        model = run_to_end(train_classifier(train, cfg))
        t_train = time.perf_counter() - t0
        print(
            f"training: {args.steps} steps x {cfg.batch_size} crops of {cfg.crop_size} px, "
            f"{t_train:.1f} s total ({model.info['train_seconds']:.1f} s network, "
            f"{args.threads} thread(s)); calibration crop accuracy "
            f"{model.info['calibration_crop_accuracy']:.3f}"
        )
    if args.save:
        model.save(args.save)

    truth = np.array([s.label for s in test])
    true_ps = np.array([s.pixel_size for s in test])
    pred, pred_closed, _ = evaluate(model, test, true_ps, args.crops)
    pred_u, _, _ = evaluate(model, unknown, [s.pixel_size for s in unknown], args.crops)
    acc = float(np.mean(pred == truth))
    acc_closed = float(np.mean(pred_closed == truth))
    known_none = float(np.mean(pred == NONE_OF_THESE))
    unknown_none = float(np.mean(pred_u == NONE_OF_THESE))
    unknown_none_12 = float(np.mean(pred_u[:12] == NONE_OF_THESE))

    perm = np.random.default_rng(args.seed).permutation(len(test))
    pred_s, _, _ = evaluate(model, test, true_ps[perm], args.crops)
    pred_r, _, _ = evaluate(model, test, [None] * len(test), args.crops)
    acc_s = float(np.mean(pred_s == truth))
    acc_r = float(np.mean(pred_r == truth))

    timings = {}
    for n in (16, 64, 128):
        timings[n] = evaluate(model, test[:10], true_ps[:10], n)[2]

    print()
    print(
        f"{'held-out accuracy, closed set (true pixel size)':<52}{acc_closed:8.3f}"
        "   (goal >= 0.95)"
    )
    print(f"{'held-out accuracy, open set (none counts wrong)':<52}{acc:8.3f}")
    print(f"{'known-class images called none_of_these':<52}{known_none:8.3f}   (goal <= 0.10)")
    print(
        f"{f'unknown class (dendritic, {len(unknown)} images) called none':<52}"
        f"{unknown_none:8.3f}   (goal >= 0.90)"
    )
    print(f"{'  the same, first 12 of them (as in earlier runs)':<52}{unknown_none_12:8.3f}")
    print(
        f"{'accuracy, pixel sizes shuffled among images':<52}{acc_s:8.3f}   "
        f"(ratio to true: {acc_s / max(acc, 1e-9):.2f})"
    )
    print(
        f"{'accuracy, no pixel size (training typical assumed)':<52}{acc_r:8.3f}   "
        f"(ratio to true: {acc_r / max(acc, 1e-9):.2f})"
    )
    what = "training time, saved network (s)" if args.model else "training time (s)"
    print(f"{what:<52}{t_train:8.1f}")
    for n, t in timings.items():
        print(f"{f'classification time per 256x256 image, {n} crops (s)':<52}{t:8.3f}")
    print()
    print("per class (true pixel size / shuffled):")
    for c in KNOWN_CLASSES:
        m = truth == c
        wrong = sorted(set(pred[m][pred[m] != c]))
        print(
            f"  {c:<18}{np.mean(pred[m] == c):6.2f} {np.mean(pred_s[m] == c):6.2f}"
            f"   wrong answers: {[str(w) for w in wrong]}, closed set "
            f"{np.mean(pred_closed[m] == c):.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
