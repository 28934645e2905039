"""``napari-microstructure explain IMAGE --out MAP.tif``: where the detector looked.

Writes a float32 saliency map (image size, 0..1) as TIFF: EigenCAM (gradient-free, default)
or Grad-CAM of all detections above ``--conf``.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from ..core.imageio import ImageReadError, read_micrograph
from ..core.notes import join_notes, unscaled_note
from ..core.progress import run_to_end
from . import CLIError
from ._common import pixel_size_arg, print_json, writing

log = logging.getLogger(__name__)

CLI_METHODS = ("eigencam", "gradcam", "hirescam", "gradcam++", "layercam")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "explain",
        help="write a saliency map (float32 TIFF, image size, 0..1) of the detection model",
        description="Saliency of the detection model on one image: EigenCAM (gradient-free, "
        "class-agnostic) or Grad-CAM of all detections above --conf.",
    )
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("--model", metavar="PT", help="ultralytics detection .pt (default: demo model)")
    p.add_argument("--method", choices=CLI_METHODS, default="eigencam")
    p.add_argument("--out", metavar="MAP.tif", required=True, help="output TIFF")
    p.add_argument(
        "--pixel-size", type=pixel_size_arg, metavar="UM", help="µm/px (overrides the file's)"
    )
    p.add_argument("--conf", type=float, default=0.25, help="detections explained by Grad-CAM")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix.lower() not in (".tif", ".tiff"):
        raise CLIError(f"--out must end in .tif or .tiff, got {out.name}")
    if not out.parent.exists():
        raise CLIError(f"output folder does not exist: {out.parent}")
    if not out.parent.is_dir():
        raise CLIError(f"--out {out}: {out.parent} is a file, not a folder")
    if out.is_dir():
        raise CLIError(f"--out {out} is a folder: give a file name ending in .tif")
    if not 0.0 <= args.conf <= 1.0:
        raise CLIError("--conf must lie between 0 and 1")
    try:
        mf = read_micrograph(args.image, pixel_size=args.pixel_size)
    except ImageReadError as exc:
        raise CLIError(str(exc)) from exc

    import tifffile

    from ..core.detect import load_detector
    from ..core.detect.model import model_note
    from ..core.explain import saliency_map

    try:
        detector = load_detector(args.model)
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    if demo := model_note(detector):  # as the detect command says it, once, on stderr
        log.warning("%s", demo)
    note = ""  # where ``detect --json`` puts its note on the scale the image was used at
    if mf.pixel_size is None and detector.pixel_size:
        note = unscaled_note(detector.pixel_size, "pass --pixel-size for scale-aware saliency")
        log.warning("%s", note)
    t0 = time.perf_counter()
    try:
        saliency = run_to_end(
            saliency_map(mf.image, detector, args.method, mf.pixel_size, conf=args.conf),
            lambda p: log.info("%s", p.message),
        )
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    seconds = time.perf_counter() - t0
    meta = {"method": args.method, "model": str(detector.path), "pixel_size_um": mf.pixel_size}
    resolution = None
    if mf.pixel_size:  # pixels per cm, so the map opens at the image's scale
        resolution = (1e4 / mf.pixel_size, 1e4 / mf.pixel_size)
    with writing(out):
        tifffile.imwrite(
            out,
            saliency,
            metadata=meta,
            resolution=resolution,
            resolutionunit="CENTIMETER" if resolution else None,
        )
    summary = {
        "image": str(args.image),
        "out": str(out),
        "method": args.method,
        "shape": list(saliency.shape),
        "pixel_size_um": mf.pixel_size,
        "note": note,
        "seconds": round(seconds, 3),
    }
    if args.method != "eigencam" and not saliency.any():
        summary["warning"] = (
            f"no detection reaches the confidence threshold {args.conf:g}: the {args.method} "
            "map is empty (lower --conf, or use eigencam)"
        )
        log.warning("%s", summary["warning"])
    if stack := mf.plane_note("explained"):  # a stack: its plane 0 only
        summary["warning"] = join_notes(summary.get("warning"), stack)
        log.warning("%s: %s", args.image, stack)
    if args.json:
        print_json(summary)
    else:
        print(
            f"{out}: {args.method} saliency {saliency.shape[1]}x{saliency.shape[0]} px "
            f"in {seconds:.1f} s"
        )
    return 0
