"""Segmentation on the shared real micrographs: U-Net vs pixel-classifier baseline.

Fixed splits and seed (data never committed; read from ../shared/real_micrographs/):

- Ni-superalloy SEM (3 classes: matrix, large and fine gamma-prime): train = spot3..spot7
  (10 images, 20 % of them for early stopping), test = spot1 (4 images). Also a model trained on
  one image (spot3_0d_3, its right fifth for early stopping). Printed: per-class IoU on the test
  images and the mean IoU of the two precipitate classes (targets >= 0.90 all / >= 0.85 one).
- Tint-etched crops (boundary lines): train = source images 10..24 (48 crops), test = source
  images 25..31 (16 crops). Printed: boundary F1 within 3 px, and the mean relative error of
  the Heyn mean lineal intercept (px, 16 horizontal test lines; every crossing of a line with a
  boundary counts) of the predicted grains' boundaries against the hand-drawn boundaries
  (target <= 0.10); both sides are measured by the same function, also on the whole length of
  the test lines (E112). The watershed settings are chosen on validation crops (20 % of the
  training crops, or whole source images with ``--val-by-source``), never on the test crops.
  Part ``tint_builtin`` measures the built-in engine (segment-all, no training on these images)
  the same way: ``--builtin classical`` (filters, the default) or ``learned`` (the shipped
  boundary model, trained on synthetic images only).

Run (each part can run in its own process, then combine):
  nice -n 10 python benchmarks/bench_segment.py --parts ni_all --json /tmp/seg_ni_all.json
  python benchmarks/bench_segment.py --combine /tmp/seg_*.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from _segment_data import (
    DATA,
    NI_CLASSES,
    NI_ONE,
    PARTS,
    TINT,
    ni_pairs,
    read_image,
    split_by_source,
    tint_pairs,
    zoomed,
)
from _segment_report import print_table
from _tint_intercepts import heyn, heyn_full_length, intercept_errors, rel_error


def _predict(model, pair, tta: bool) -> np.ndarray:
    from napari_microstructure.core.progress import run_to_end
    from napari_microstructure.core.segment.tiling import predict_tiles
    from napari_microstructure.core.segment.train import standardise

    return run_to_end(predict_tiles(model.net, standardise(pair.image), 256, 64, tta))


def _predict_zoomed(model, pair, tta: bool, zoom: int) -> np.ndarray:
    probs = _predict(model, zoomed(pair, zoom) if zoom > 1 else pair, tta)
    c, h, w = probs.shape
    return probs.reshape(c, h // zoom, zoom, w // zoom, zoom).mean(axis=(2, 4))


def _phase_report(preds, pairs, seconds, name) -> dict:
    from napari_microstructure.core.segment import iou_per_class

    pred = np.concatenate([p.ravel() for p in preds])
    truth = np.concatenate([p.mask.ravel() for p in pairs])
    iou = iou_per_class(pred, truth, 3)
    return {
        "part": name,
        "iou": dict(zip(NI_CLASSES, iou, strict=True)),
        "precipitate_mean_iou": float(np.mean(iou[1:])),
        "train_seconds": seconds,
    }


def _train(pairs, cfg, val=None, init=None):
    from napari_microstructure.core.progress import run_to_end
    from napari_microstructure.core.segment import train_model

    t0, c0 = time.perf_counter(), time.process_time()
    model = run_to_end(
        train_model(pairs, cfg, val_pairs=val, init=init),
        lambda p: (
            print(p.message, file=sys.stderr, flush=True)
            if p.step % cfg.steps_per_epoch == 0
            else None
        ),
    )
    model.metrics["cpu_seconds"] = round(time.process_time() - c0, 1)
    return model, round(time.perf_counter() - t0, 1)


def _model(name: str, pairs, cfg, val, args):
    """Train, or with ``--load DIR`` reuse a model saved by an earlier ``--save DIR`` run."""
    if args.load:
        from napari_microstructure.core.segment import load_model

        model = load_model(Path(args.load) / f"{name}.pt")
        return model, float(model.metrics["seconds"])
    init, continued = None, bool(args.init)
    if continued:  # continue training a saved model; its training time is added
        from napari_microstructure.core.segment import load_model

        init = load_model(Path(args.init) / f"{name}.pt")
    elif args.synthetic_start:  # the product's start (built-in boundary model or pretraining)
        from napari_microstructure.core.progress import run_to_end
        from napari_microstructure.core.segment import synthetic_start

        channels = pairs[0].image.shape[0]
        init = run_to_end(synthetic_start(cfg.task, channels, cfg.base, cfg.depth, seed=args.seed))
    model, seconds = _train(pairs, cfg, val, init)
    if continued:
        seconds += float(init.metrics["seconds"])
        model.metrics["seconds"] = seconds
        model.metrics["continued_from_epochs"] = init.metrics["epochs_run"]
        if init.metrics.get("cpu_seconds") is not None:
            model.metrics["cpu_seconds"] += float(init.metrics["cpu_seconds"])
    elif init is not None:  # the starting model's own training (a GPU's, for the built-in one)
        model.metrics["start_seconds"] = float(init.metrics.get("seconds", 0.0))
    if args.save:
        model.save(Path(args.save) / f"{name}.pt")
    return model, seconds


def _config(args, **kw):
    """The training settings of the command line (``kw``: task and part-specific ones)."""
    from napari_microstructure.core.segment import TrainConfig

    return TrainConfig(
        epochs=args.epochs,
        steps_per_epoch=args.steps,
        batch_size=args.batch,
        crop=args.crop,
        base=args.base,
        depth=args.depth,
        seed=args.seed,
        patience=args.patience,
        lr=args.lr,
        device=args.device,
        scale=tuple(args.scale),
        workers=args.workers,
        dice_weight=args.dice,
        **kw,
    )


def run_ni(one: bool, args) -> dict:
    train = ni_pairs((NI_ONE,)) if one else ni_pairs(("spot3", "spot4", "spot5", "spot6", "spot7"))
    test = ni_pairs(("spot1",))
    cfg = _config(
        args, task="phases", classes=NI_CLASSES, val_fraction=0.2, composition=args.composition
    )
    if args.zoom > 1:  # train and predict on an enlarged grid, probabilities averaged back
        train = [zoomed(p, args.zoom) for p in train]
    val = [] if args.no_val else None  # []: no validation; the lowest-loss epoch is kept
    model, seconds = _model(f"ni_{'one' if one else 'all'}", train, cfg, val, args)
    preds = [_predict_zoomed(model, p, args.tta, args.zoom).argmax(0) for p in test]
    out = _phase_report(preds, test, seconds, "ni_one" if one else "ni_all")
    out.update(
        device=args.device,
        seed=args.seed,
        composition=args.composition,
        zoom=args.zoom,
        dice=args.dice,
        no_val=args.no_val,
        epochs_run=model.metrics["epochs_run"],
        best_epoch=model.metrics["best_epoch"],
        train_cpu_seconds=model.metrics.get("cpu_seconds"),
    )
    return out


def run_ni_baseline(args) -> dict:
    """Random forest on multi-scale pixel features (the scribble classifier's engine)."""
    from sklearn.ensemble import RandomForestClassifier

    from napari_microstructure.core.segment import pixel_features

    rng = np.random.default_rng(args.seed)
    train = ni_pairs(("spot3", "spot4", "spot5", "spot6", "spot7"))
    test = ni_pairs(("spot1",))
    t0 = time.perf_counter()
    xs, ys = [], []
    for p in train:
        f = pixel_features(p.image[0]).reshape(p.mask.size, -1)
        idx = rng.choice(p.mask.size, 6000, replace=False)
        xs.append(f[idx])
        ys.append(p.mask.ravel()[idx])
    rf = RandomForestClassifier(
        50, max_depth=16, n_jobs=1, random_state=args.seed, class_weight="balanced"
    ).fit(np.concatenate(xs), np.concatenate(ys))
    seconds = round(time.perf_counter() - t0, 1)
    preds = []
    for p in test:
        f = pixel_features(p.image[0])
        preds.append(rf.predict(f.reshape(p.mask.size, -1)).reshape(p.mask.shape))
    return _phase_report(preds, test, seconds, "ni_baseline")


def run_tint(args) -> dict:
    from napari_microstructure.core.segment import boundary_f1, split_pairs

    train_all, test = tint_pairs(False), tint_pairs(True)
    if args.val_by_source:  # validation crops from source images left out of training
        train, val = split_by_source(train_all, 0.2, args.seed)
    else:
        train, val = split_pairs(train_all, 0.2, args.seed)
    if args.mix_synthetic:  # synthetic tint micrographs among the training crops
        from napari_microstructure.core.segment import synthetic_pairs

        n = args.mix_synthetic
        train = train + synthetic_pairs("boundaries", n, (256, 256), ("tint",), 3, seed=5000)
    cfg = _config(args, task="boundaries")
    model, seconds = _model("tint_boundaries", train, cfg, val, args)
    val_probs = [_predict(model, p, args.tta)[1] for p in val]
    grid = [
        (t, m, s)
        for t in (0.3, 0.4, 0.5, 0.6, 0.7)
        for m in (20, 50, 100)
        for s in (0.0, 1.5, 3.0, 5.0)
    ]
    scores = {g: float(np.mean(intercept_errors(val_probs, val, *g))) for g in grid}
    threshold, min_px, split = min(scores, key=scores.get)
    if args.refit_all:  # train again on every training crop for the epochs chosen on val
        model, seconds = _refit(train + val, cfg, model, seconds, args)
    probs = [_predict(model, p, args.tta)[1] for p in test]
    f1 = [boundary_f1(pr > 0.5, p.mask == 1, 3.0)["f1"] for pr, p in zip(probs, test, strict=True)]
    errs = intercept_errors(probs, test, threshold, min_px, split)
    old = intercept_errors(probs, test, threshold, min_px, split, old=True)
    full = intercept_errors(probs, test, threshold, min_px, split, measure=heyn_full_length)
    return {
        "part": "tint",
        "boundary_f1_3px": float(np.mean(f1)),
        "intercept_rel_error_mean": float(np.mean(errs)),
        "intercept_rel_error_median": float(np.median(errs)),
        "intercept_rel_error_tessellation": float(np.mean(old)),
        "intercept_rel_error_full_length": float(np.mean(full)),
        "intercept_rel_error_full_length_median": float(np.median(full)),
        "watershed": {
            "threshold": threshold,
            "min_grain_px": min_px,
            "split": split,
            "val_error": scores[(threshold, min_px, split)],
        },
        "n_test": len(test),
        "train_seconds": seconds,
        "train_cpu_seconds": model.metrics.get("cpu_seconds"),
        "start_seconds": model.metrics.get("start_seconds"),
        "device": args.device,
        "mix_synthetic": args.mix_synthetic,
        "val_by_source": args.val_by_source,
        "refit_all": args.refit_all,
        "refit_epochs": model.metrics.get("refit_epochs"),
        "val_sources": sorted({p.name.split("-")[0] for p in val}),
        "epochs_run": model.metrics["epochs_run"],
        "best_epoch": model.metrics["best_epoch"],
    }


def _refit(pairs, cfg, chosen, seconds: float, args):
    """Train anew on ``pairs`` (training and validation crops) for the best epoch count of
    ``chosen`` with its start, no validation: the watershed settings stay those chosen."""
    from dataclasses import replace

    epochs = int(chosen.metrics["best_epoch"])
    init = None
    if args.synthetic_start:
        from napari_microstructure.core.progress import run_to_end
        from napari_microstructure.core.segment import synthetic_start

        channels = pairs[0].image.shape[0]
        init = run_to_end(synthetic_start(cfg.task, channels, cfg.base, cfg.depth, seed=args.seed))
    model, more = _train(pairs, replace(cfg, epochs=epochs, patience=epochs), [], init)
    model.metrics["refit_epochs"] = epochs
    if args.save:
        model.save(Path(args.save) / "tint_boundaries_refit.pt")
    return model, seconds + more


def run_tint_builtin(args) -> dict:
    """The built-in engine (no training, no weights) on the same held-out tint crops."""
    from skimage.segmentation import find_boundaries

    from napari_microstructure.core.grains import segment_all_grains
    from napari_microstructure.core.progress import run_to_end
    from napari_microstructure.core.segment import boundary_f1

    test = tint_pairs(True)
    t0 = time.perf_counter()
    f1, errs, full = [], [], []
    for p in test:
        image = read_image(DATA / TINT / "images" / f"{p.name}.png")  # RGB as on disk
        edges = find_boundaries(run_to_end(segment_all_grains(image, None, args.builtin)))
        f1.append(boundary_f1(edges, p.mask == 1, 3.0)["f1"])
        errs.append(rel_error(heyn(edges), heyn(p.mask == 1)))
        full.append(rel_error(heyn_full_length(edges), heyn_full_length(p.mask == 1)))
    return {
        "part": f"tint_builtin ({args.builtin})",
        "boundary_f1_3px": float(np.mean(f1)),
        "intercept_rel_error_mean": float(np.mean(errs)),
        "intercept_rel_error_median": float(np.median(errs)),
        "intercept_rel_error_full_length": float(np.mean(full)),
        "intercept_rel_error_full_length_median": float(np.median(full)),
        "n_test": len(test),
        "train_seconds": 0.0,
        "segment_seconds": time.perf_counter() - t0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=int, default=128)
    ap.add_argument("--base", type=int, default=16)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--patience", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--tta", action="store_true")
    ap.add_argument("--scale", type=float, nargs=2, default=(0.7, 1.4), help="crop zoom range")
    ap.add_argument(
        "--builtin", choices=["classical", "learned"], default="classical", help="its engine"
    )
    ap.add_argument("--device", default="cpu", help="torch device of training ('cuda': a GPU)")
    ap.add_argument("--save", help="folder to keep the trained models")
    ap.add_argument("--load", help="folder of models saved by --save: evaluate only")
    ap.add_argument("--init", help="folder of models saved by --save: continue training them")
    ap.add_argument("--lr", type=float, default=3e-3, help="peak learning rate")
    ap.add_argument(
        "--synthetic-start",
        action="store_true",
        help="start as train-seg --pretrain-synthetic does (boundaries: the built-in model)",
    )
    ap.add_argument(
        "--composition",
        type=float,
        default=0.5,
        help="phases: share of crops standardised as if the classes covered other shares",
    )
    ap.add_argument("--zoom", type=int, default=1, help="superalloy: enlarge images Z times")
    ap.add_argument("--dice", type=float, default=1.0, help="weight of the Dice loss term")
    ap.add_argument("--workers", type=int, default=0, help="threads drawing batches ahead")
    ap.add_argument("--no-val", action="store_true", help="superalloy: train on every image")
    ap.add_argument(
        "--mix-synthetic", type=int, default=0, help="tint: train on N synthetic tint images too"
    )
    ap.add_argument(
        "--val-by-source",
        action="store_true",
        help="tint: validation crops from whole source images left out of training",
    )
    ap.add_argument(
        "--refit-all",
        action="store_true",
        help="tint: train again on training and validation crops for the chosen epochs",
    )
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--combine", nargs="+", metavar="JSON", help="only print saved results")
    args = ap.parse_args(argv)
    if args.combine:
        results = [r for f in args.combine for r in json.loads(Path(f).read_text())]
        print_table(results)
        return 0
    if not DATA.is_dir():
        print(f"real micrographs not found at {DATA}", file=sys.stderr)
        return 1
    import torch

    torch.set_num_threads(args.threads)
    results = []
    for part in args.parts:
        if part in ("ni_all", "ni_one"):
            results.append(run_ni(part == "ni_one", args))
        elif part == "ni_baseline":
            results.append(run_ni_baseline(args))
        elif part == "tint_builtin":
            results.append(run_tint_builtin(args))
        else:
            results.append(run_tint(args))
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
