"""``napari-microstructure grains IMAGE``: segment every grain and report ASTM E112 grain size."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..core.notes import join_notes
from . import CLIError
from ._common import pixel_size_arg, print_json

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "grains",
        help="segment all grains of a micrograph and print grain count and ASTM E112 G",
        description="Segment every grain of IMAGE (built-in engine: boundary map, gap closing, "
        "watershed, the map from filters or with --learned from the shipped boundary model; or "
        "a trained boundaries model with --model, or Segment Anything with --sam-checkpoint) "
        "and print the measurements of `napari-microstructure measure`.",
    )
    p.add_argument("image", metavar="IMAGE", help="micrograph (TIFF, PNG, JPEG, BMP)")
    p.add_argument(
        "--pixel-size",
        type=pixel_size_arg,
        metavar="UM",
        help="µm per pixel (overrides the file's)",
    )
    p.add_argument(
        "--boundaries-out",
        type=Path,
        metavar="PNG",
        help="write an 8-bit PNG, 255 on grain-boundary pixels",
    )
    p.add_argument(
        "--labels-out", type=Path, metavar="TIF", help="write a uint32 TIFF of grain ids"
    )
    p.add_argument("--model", metavar="MODEL", help="trained boundaries model (train-seg) to use")
    p.add_argument(
        "--learned",
        action="store_true",
        help="built-in engine on the shipped learned boundary map instead of filters "
        "(trained by this project on synthetic etched and tint micrographs)",
    )
    p.add_argument(
        "--sam-checkpoint",
        metavar="PTH",
        help="Segment Anything checkpoint: use its automatic mask generator",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def _segment(image: np.ndarray, pixel_size: float | None, args: argparse.Namespace) -> np.ndarray:
    from ..core.grains import segment_all_grains
    from ..core.progress import run_to_end

    if sum(bool(x) for x in (args.model, args.sam_checkpoint, args.learned)) > 1:
        raise CLIError("choose one of --model, --sam-checkpoint and --learned")
    if args.model:
        if not Path(args.model).is_file():
            raise CLIError(f"model file not found: {args.model}")
        gen = segment_all_grains(image, pixel_size, engine="model", model_path=args.model)
    elif args.sam_checkpoint:
        gen = segment_all_grains(image, pixel_size, engine="sam", checkpoint=args.sam_checkpoint)
    else:
        gen = segment_all_grains(image, pixel_size, "learned" if args.learned else "classical")
    try:
        return run_to_end(gen, lambda p: log.info("%s", p.message))
    except ValueError as exc:  # SamLoadError, bad model files, unusable images
        raise CLIError(str(exc)) from exc


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse output paths that would overwrite the input or each other, or that name another
    format than the one written (before any work)."""
    image = Path(args.image).expanduser().resolve()
    outs = {
        "--boundaries-out": (args.boundaries_out, (".png",)),
        "--labels-out": (args.labels_out, (".tif", ".tiff")),
    }
    seen: dict[Path, str] = {}
    for flag, (path, suffixes) in outs.items():
        if path is None:
            continue
        if path.suffix.lower() not in suffixes:
            raise CLIError(f"{flag} {path}: the file name must end in {' or '.join(suffixes)}")
        where = path.expanduser().resolve()
        if where == image:
            raise CLIError(f"{flag} {path} is the input image: it would be overwritten")
        if where in seen:
            raise CLIError(f"{flag} and {seen[where]} name the same file {path}")
        seen[where] = flag


def _write_outputs(labels: np.ndarray, args: argparse.Namespace, pixel_size: Any) -> None:
    from ..core.atomic import atomic_file, atomic_write_tiff
    from ..core.grains import boundaries_from_labels

    try:
        if args.boundaries_out:
            from PIL import Image

            args.boundaries_out.parent.mkdir(parents=True, exist_ok=True)
            png = boundaries_from_labels(labels).astype(np.uint8) * 255
            with atomic_file(args.boundaries_out) as fh:
                Image.fromarray(png).save(fh, format="PNG")
        if args.labels_out:  # with the pixel size, so it is measured in µm when reopened
            args.labels_out.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_tiff(args.labels_out, labels.astype(np.uint32), pixel_size, labels=True)
    except OSError as exc:
        raise CLIError(f"cannot write output: {exc}") from exc


def run(args: argparse.Namespace) -> int:
    from ..core.grains import no_grains_warning, without_one_region_size
    from ..core.imageio import ImageReadError, read_micrograph
    from ..core.measure.summary import summarize

    _check_outputs(args)
    try:
        mf = read_micrograph(args.image, args.pixel_size)
    except ImageReadError as exc:
        raise CLIError(str(exc)) from exc
    image = np.asarray(mf.image)
    stack = mf.plane_note("segmented")  # a stack: its plane 0 only
    if stack:
        log.warning("%s: %s", args.image, stack)
    labels = _segment(image, mf.pixel_size, args)
    warning = no_grains_warning(labels)
    if warning:
        log.warning("%s: %s", args.image, warning)
    _write_outputs(labels, args, mf.pixel_size)
    summary: dict[str, Any] = summarize(labels, mf.pixel_size)
    without_one_region_size(summary, labels)  # one region: no grain size, the reason told
    if stack or mf.calibration_note:  # why it has no pixel size (non-square pixels, ...)
        summary["note"] = join_notes(summary.get("note"), mf.calibration_note, stack)
    summary["image"] = str(args.image)
    if args.json:
        print_json(summary)
    else:
        g, mli = summary.get("astm_g_intercept"), summary.get("mean_intercept")
        size = "n/a" if mli is None else f"{mli:.3g} {summary['unit']}"
        grade = "n/a" if g is None else f"{g:.2f}"
        if g is None and mf.pixel_size is None:
            grade += " (no pixel size)"
        n = summary["grain_count"]
        print(f"{n} grain{'' if n == 1 else 's'}, mean intercept {size}, ASTM G {grade}")
    return 0
