"""``napari-microstructure rank DIR``: unlabelled images, most uncertain for the model first.

The model is a detector (ultralytics checkpoint) or a segmentation model saved by ``train-seg``;
the file says which (:func:`..core.curate.active_seg.load_ranking_model`).
"""

from __future__ import annotations

import argparse
import logging
import math
from typing import TYPE_CHECKING, Any

from ..core.progress import run_to_end
from . import CLIError
from ._common import pixel_size_arg, print_json

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)


def signal_weight(text: str) -> tuple[str, float]:
    """``SIGNAL=W`` of the command line as ``(signal, weight)``."""
    from ..core.curate.active import WEIGHTS

    key, _, value = text.partition("=")
    try:
        weight = float(value)
    except ValueError:
        weight = -1.0
    if key not in WEIGHTS or weight < 0:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give SIGNAL=W, W >= 0, SIGNAL one of {', '.join(WEIGHTS)}"
        )
    return key, weight


def register(sub: argparse._SubParsersAction) -> None:
    from ..core.curate.select import DENSITY  # numpy only: the parser is built at every start

    p = sub.add_parser(
        "rank",
        help="rank a folder of unlabelled images by a detector's or a segmentation model's "
        "uncertainty",
    )
    p.add_argument("folder", metavar="DIR", help="folder of images to rank")
    p.add_argument(
        "--model",
        metavar="PT",
        help="detection model, or a segmentation model (from train-seg): images are then ranked "
        "by its mean pixel uncertainty, and the detector options below do not apply "
        "(default: the demo detector)",
    )
    p.add_argument("--conf", type=float, default=0.25, help="detection threshold (0.25)")
    p.add_argument("--no-tta", action="store_true", help="skip the flipped-image disagreement")
    p.add_argument(
        "--reference",
        metavar="DIR",
        help="labelled images: adds an out-of-distribution distance to them",
    )
    p.add_argument(
        "--diversity",
        type=float,
        default=0.25,
        help="weight of novelty (against the reference and images queued before) in the queue "
        "order (0.25; 0 = by uncertainty score alone)",
    )
    p.add_argument(
        "--density",
        type=float,
        default=DENSITY,
        help=f"exponent of the weighting of the score by how representative an image is of the "
        f"folder ({DENSITY:g}; 0 = off): uncertain outliers count for less",
    )
    p.add_argument(
        "--reference-labels",
        metavar="DIR",
        help="YOLO label files (.txt, class ids of the model) of the labelled images: the queue "
        "then favours images whose detections are of classes those labels lack",
    )
    p.add_argument(
        "--rarity",
        type=float,
        default=1.0,
        help="weight of that class gain in the queue order (1; 0 = off)",
    )
    p.add_argument(
        "--weight",
        nargs="+",
        type=signal_weight,
        metavar="SIGNAL=W",
        help="weights of the score's signals over the defaults, e.g. ood=1 low_max=0.5 "
        "(signals: entropy, n_near, low_max, tta, ood; ood needs --reference)",
    )
    p.add_argument(
        "--pixel-size", type=pixel_size_arg, help="µm/px of the images (overrides files)"
    )
    p.add_argument("--top", type=int, help="print only the first N")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


#: detector-only options and their defaults: a segmentation model ignores them
DETECTOR_OPTIONS = {
    "conf": 0.25,
    "no_tta": False,
    "reference": None,
    "diversity": 0.25,
    "reference_labels": None,
    "rarity": 1.0,
    "weight": None,
}


def run(args: argparse.Namespace) -> int:
    from ..core.curate.active import list_images
    from ..core.curate.active_seg import is_segmentation_model, load_ranking_model
    from ..core.imageio import ImageReadError

    if not 0 <= args.conf <= 1:
        raise CLIError(f"--conf must lie between 0 and 1, got {args.conf}")
    for name in ("diversity", "density", "rarity"):
        if not math.isfinite(getattr(args, name)):
            raise CLIError(f"--{name} must be a finite number, got {getattr(args, name)}")
    if args.top is not None and args.top < 1:
        raise CLIError(f"--top must be at least 1, got {args.top}")

    try:
        paths = list_images(args.folder)
        if not paths:
            raise ValueError(f"no images in {args.folder}")
        model = load_ranking_model(args.model)
        if is_segmentation_model(model):
            df, extra = _rank_segmentation(args, paths, model)
        else:
            df = _rank_detector(args, paths, model)
            extra = {"skipped": df.attrs.get("skipped", [])}
    except (ValueError, ImageReadError, OSError) as exc:
        raise CLIError(str(exc)) from exc
    if args.top:
        df = df.head(args.top)
    df = df.drop(columns=["index", "digest"], errors="ignore")  # digest: for the dock only
    if args.json:
        ranking = df.to_dict(orient="records")
        print_json({"model": str(model.path), **extra, "ranking": ranking})
    else:
        for row in df.itertuples():
            print(f"{row.rank:4d}  {row.score:.3f}  {row.path}")
    return 0


def _rank_detector(args: argparse.Namespace, paths: list, detector: Any) -> pd.DataFrame:
    from ..core.curate.active import list_images, rank_images
    from ..core.curate.yolo import yolo_class_counts
    from ..core.imageio import read_micrograph

    if dict(args.weight or ()).get("ood", 0) > 0 and not args.reference:
        raise ValueError("--weight ood=W needs --reference DIR (the images novelty is judged by)")
    reference = None
    if args.reference:
        reference = [read_micrograph(p).data for p in list_images(args.reference)]
    counts = None
    if args.reference_labels:
        counts = yolo_class_counts(args.reference_labels, detector.names)
    return run_to_end(
        rank_images(
            paths,
            detector,
            conf=args.conf,
            tta=not args.no_tta,
            reference=reference,
            pixel_size=args.pixel_size,
            diversity=args.diversity,
            class_counts=counts,
            rarity=args.rarity,
            density=args.density,
            weights=dict(args.weight) if args.weight else None,
        ),
        lambda p: log.info("%s", p.message),
    )


def _rank_segmentation(
    args: argparse.Namespace, paths: list, model: Any
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The ranking by the segmentation model's mean pixel uncertainty, and the JSON's extra
    keys: the model's task and the images skipped (unreadable), with why."""
    from ..core.curate.active_seg import rank_images_seg
    from ..core.curate.select import DENSITY

    defaults = {**DETECTOR_OPTIONS, "density": DENSITY}
    given = [k for k, v in defaults.items() if getattr(args, k) != v]
    if given:
        names = ", ".join("--" + k.replace("_", "-") for k in given)
        log.warning("%s: detector options, ignored with a segmentation model", names)
    gen = rank_images_seg(paths, model, pixel_size=args.pixel_size)
    df = run_to_end(gen, lambda p: log.info("%s", p.message))
    return df, {"task": model.task, "skipped": df.attrs.get("skipped", [])}
