"""``napari-microstructure classify IMAGE... --model MODEL``: which microstructure is this?"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from . import CLIError
from ._common import pixel_size_arg, print_json

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "classify",
        help="classify micrographs with a model from train-cls (with 'none of these')",
        description="Average many random crops of each image into class probabilities, "
        "including none_of_these for images unlike the training classes.",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", type=Path)
    p.add_argument("--model", metavar="MODEL", type=Path, required=True, help="from train-cls")
    p.add_argument(
        "--pixel-size",
        type=pixel_size_arg,
        metavar="UM",
        help="µm per pixel (overrides the files' calibration)",
    )
    p.add_argument("--crops", type=int, default=64, help="crops per image (64)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..core.classify import classify_image, load_classifier
    from ..core.imageio import ImageReadError, read_micrograph

    if args.crops < 1:
        raise CLIError("--crops must be >= 1")
    try:
        model = load_classifier(args.model)
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    results, failed = [], 0
    for path in args.images:
        try:
            mf = read_micrograph(path, pixel_size=args.pixel_size)
            pred = classify_image(model, mf.image, mf.pixel_size, n_crops=args.crops)
            if mf.calibration_note:  # a calibration refused (non-square pixels, ...)
                pred.warnings.append(mf.calibration_note)
            if note := mf.plane_note("classified"):  # a stack: only its plane 0
                pred.warnings.append(note)
                log.warning("%s: %s", path, note)
        except (ImageReadError, ValueError) as exc:
            if len(args.images) == 1:
                raise CLIError(str(exc)) from exc
            results.append({"image": str(path), "error": str(exc)})  # the others go on
            failed += 1
            continue
        results.append({"image": str(path), **pred.as_dict()})
    if args.json:
        print_json(results)
        return 1 if failed else 0
    for r in results:
        if "error" in r:
            print(f"{r['image']}: error: {r['error']}")
            continue
        best = sorted(r["probabilities"].items(), key=lambda kv: -kv[1])[:3]
        shown = ", ".join(f"{k} {v:.2f}" for k, v in best)
        print(f"{r['image']}: {r['predicted']}  ({shown})")
        for note in r["warnings"]:
            print(f"  note: {note}")
    return 1 if failed else 0
