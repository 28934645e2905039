"""``napari-microstructure segment IMAGE... --model MODEL --out DIR``: label images per class."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from ..core.notes import join_notes
from . import CLIError
from ._common import output_stems, pixel_size_arg, print_json, writing

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "segment",
        help="segment micrographs with a trained model (train-seg) into label images",
        description="Write one label image per input: the class index per pixel for a phases "
        "model, 255 on boundary pixels (0 elsewhere) for a boundaries model.",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--model", required=True, metavar="MODEL", help="model file from train-seg")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--format", choices=["png", "tif"], default="png", help="label file type")
    p.add_argument(
        "--pixel-size", type=pixel_size_arg, help="µm/px, overrides the files' calibration"
    )
    p.add_argument("--tta", action="store_true", help="average 8 flips/rotations (slower)")
    p.add_argument(
        "--confidence",
        action="store_true",
        help="also write the winning class probability (float32 TIFF)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from skimage.io import imsave

    from ..core.atomic import atomic_write_tiff
    from ..core.image_utils import first_plane
    from ..core.imageio import ImageReadError, read_micrograph
    from ..core.progress import run_to_end
    from ..core.segment import load_model, phase_fractions, segment_image

    try:
        model = load_model(args.model)
    except (OSError, ValueError) as exc:
        raise CLIError(str(exc)) from exc
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise CLIError(f"--out {out} is a file: give a folder for the label images")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"cannot make the output folder {out}: {exc.strerror or exc}") from exc
    results, failed = [], 0
    for path, stem in zip(args.images, output_stems(args.images), strict=True):
        try:
            mf = read_micrograph(path, pixel_size=args.pixel_size)
            data = first_plane(mf.data)
            seg = run_to_end(segment_image(data, model, mf.pixel_size, tta=args.tta))
        except (ImageReadError, ValueError) as exc:
            if len(args.images) == 1:
                raise CLIError(str(exc)) from exc
            results.append({"image": path, "error": str(exc)})
            failed += 1
            continue
        labels = seg.labels
        if model.task == "boundaries":
            labels = np.where(labels > 0, 255, 0).astype(np.uint8)
        target = out / f"{stem}_{model.task}.{args.format}"
        info = {"image": path, "labels": str(target), "pixel_size": mf.pixel_size}
        conf = out / f"{stem}_confidence.tif"
        try:  # e.g. a folder of that name in --out: told as the unreadable images are
            with writing(target):
                if args.format == "tif":  # labels in µm again
                    atomic_write_tiff(target, labels, mf.pixel_size, labels=True)
                else:
                    imsave(target, labels, check_contrast=False)
            if args.confidence:
                with writing(conf):
                    atomic_write_tiff(conf, seg.confidence, mf.pixel_size)
                info["confidence"] = str(conf)
        except CLIError as exc:
            if len(args.images) == 1:
                raise
            results.append({"image": path, "error": str(exc)})
            failed += 1
            continue
        info["mean_confidence"] = float(seg.confidence.mean())
        if model.task == "phases":
            info["phase_fractions"] = phase_fractions(seg.labels, model.classes)
        plane = mf.plane_note("segmented")
        warning = join_notes(seg.warning, mf.calibration_note, seg.scale_note, plane)
        if warning:
            info["warning"] = warning
            log.warning("%s: %s", path, warning)
        results.append(info)
    print_json({"model": str(args.model), "task": model.task, "results": results})
    return 1 if failed else 0
