"""``napari-microstructure train-cls DIR --out MODEL``: train a microstructure classifier."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from . import CLIError
from ._common import pixel_size_arg, print_json

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train-cls",
        help="train a microstructure classifier from a folder of images, one sub-folder per class",
        description="Train a magnification-aware crop classifier with a 'none of these' answer. "
        "DIR holds one sub-folder per class (nested folders count for their class). Pixel "
        "sizes (µm/px) come from an entry naming the file in DIR/pixel_sizes.json "
        '({"class/file.png": 0.5, ..., "default": 0.5}) or in a pixel_sizes.json below it '
        '({"file.png": 0.5}), the files\' own calibration (TIFF resolution tags, ImageJ, OME, '
        'SEM headers, PNG density), the nearest "default", or --pixel-size, in that order.',
    )
    p.add_argument("folder", metavar="DIR", type=Path)
    p.add_argument("--out", metavar="MODEL", type=Path, required=True, help="model file (.pt)")
    p.add_argument(
        "--pixel-size",
        type=pixel_size_arg,
        metavar="UM",
        help="µm per pixel for images with no other calibration",
    )
    p.add_argument("--steps", type=int, default=600, help="training steps (600)")
    p.add_argument("--crop-size", type=int, default=64, help="crop side in pixels (64)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--json", action="store_true", help="print a JSON training record")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from ..core.classify import TrainConfig, load_folder, train_classifier
    from ..core.imageio import ImageReadError
    from ..core.progress import run_to_end

    if args.steps < 1 or not 16 <= args.crop_size <= 512:
        raise CLIError("--steps must be >= 1 and --crop-size between 16 and 512")
    from ..core.classify.model import save_path_problem

    problem = save_path_problem(args.out)  # found before the training, not after it
    if problem:
        raise CLIError(f"--out: {problem}")
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        samples = load_folder(args.folder, default_pixel_size=args.pixel_size)
        cfg = TrainConfig(steps=args.steps, crop_size=args.crop_size, seed=args.seed)
        model = run_to_end(
            train_classifier(samples, cfg),
            lambda p: log.info("%s", p.message) if p.step % 50 == 0 else None,
        )
        path = model.save(args.out)
    except (ImageReadError, ValueError, OSError) as exc:
        raise CLIError(str(exc)) from exc
    warnings = model.info.get("warnings", [])
    for warning in warnings:
        log.warning("%s", warning)
    record = {
        "model": str(path),
        "classes": model.classes,
        "images_per_class": model.info["images_per_class"],
        "pixel_size_range_um": list(model.pixel_size_range),
        "calibration_crop_accuracy": model.info["calibration_crop_accuracy"],
        "calibration_on_training_images": bool(model.info["crop_accuracy_on_training_images"]),
        "seconds": model.info["total_seconds"],
        "warnings": warnings,
    }
    if args.json:
        print_json(record)
    else:
        print(
            f"saved {path}: {len(model.classes)} classes ({', '.join(model.classes)}), "
            f"{len(samples)} images, {record['seconds']:.0f} s"
        )
    return 0
