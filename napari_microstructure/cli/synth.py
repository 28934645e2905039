"""``napari-microstructure synth OUTDIR``: write a synthetic training set with exact truth."""

from __future__ import annotations

import argparse
import json
import logging

from ..core.pixel_size_tags import MAX_DENSITY_PIXEL_UM
from ..core.progress import run_to_end
from . import CLIError
from ._common import number_or_nan, pixel_size_arg, print_json

log = logging.getLogger(__name__)

# --pixel-size, µm per pixel: a high-magnification SEM image (10 nm) to the coarsest optical
# micrograph, whose PNG density still reads back as a calibration. Sizes are drawn in µm, so
# finer pixels make grains thousands of pixels across, whose random fields take memory as their
# size squared (defects on an etched matrix, 512 x 512: 1 GB at 0.02, 4 GB at 0.01; at 0.001
# half the kinds need over 8 GB; a TIFF resolution tag cannot hold 0.000002 at all); coarser
# pixels put more defects in the field (1000 µm: not done in 5 minutes for 128 x 128).
MIN_PIXEL_UM = 0.01
MAX_PIXEL_UM = MAX_DENSITY_PIXEL_UM


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "synth",
        help="write synthetic micrographs with exact ground truth (YOLO layout + masks)",
        description="Draw synthetic micrographs and write images/, labels/ (YOLO), data.yaml, "
        "masks/ (label TIFFs: uint32 grain and defect ids, uint8 phase ids), boundaries/ "
        "(8-bit PNG) and truth/ (JSON per image) into a new or empty OUTDIR (or, with "
        "--overwrite, over a set synth wrote there).",
    )
    p.add_argument("outdir", metavar="OUTDIR")
    p.add_argument("--n", type=int, default=20, help="number of images (default 20)")
    p.add_argument(
        "--seed", type=_seed, default=0, help="random seed, a whole number >= 0 (default 0)"
    )
    p.add_argument(
        "--kind",
        nargs="+",
        default=["defects"],
        metavar="KIND",
        help="kind(s) of micrograph, taken in turn (default: defects); base kinds: etched, "
        "tint, bimodal, ferrite_pearlite, precipitates, defects",
    )
    p.add_argument(
        "--size",
        nargs=2,
        type=int,
        default=[512, 512],
        metavar=("H", "W"),
        help="image size in pixels (default 512 512)",
    )
    p.add_argument(
        "--pixel-size",
        type=_pixel_size,
        default=0.5,
        metavar="UM",
        help=f"pixel size in µm/px, {MIN_PIXEL_UM:g} to {MAX_PIXEL_UM:g} (default 0.5)",
    )
    p.add_argument(
        "--val-fraction",
        type=_fraction,
        default=0.2,
        metavar="F",
        help="fraction of images in the validation split, 0 to below 1 (default 0.2)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a set synth wrote in OUTDIR before: removes only the files its "
        "index.json lists (without it, a folder that is not empty is refused)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="kind parameter, e.g. --set n_pores=4 --set noise=false (repeatable); it goes to "
        "the chosen kinds that take it",
    )
    p.set_defaults(func=run)


def _seed(text: str) -> int:
    """argparse type of ``--seed``: a whole number of at least 0 (argparse names the option)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 0, got {text!r}")
    return value


def _pixel_size(text: str) -> float:
    """argparse type of ``--pixel-size``: µm per pixel within what the generator can draw."""
    value = pixel_size_arg(text)  # a positive, finite number
    if not MIN_PIXEL_UM <= value <= MAX_PIXEL_UM:
        raise argparse.ArgumentTypeError(
            f"must lie between {MIN_PIXEL_UM:g} and {MAX_PIXEL_UM:g} µm per pixel (a "
            f"high-magnification SEM image to the coarsest optical micrograph), got {text!r}"
        )
    return value


def _fraction(text: str) -> float:
    """argparse type of ``--val-fraction``: a number from 0 up to (not including) 1."""
    value = number_or_nan(text)
    if not 0 <= value < 1:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be a number from 0 to below 1, got {text!r}")
    return value


def _params(items: list[str]) -> dict:
    params = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CLIError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            params[key.strip()] = json.loads(
                value.strip().lower()
                if value.strip().lower() in ("true", "false", "null")
                else value
            )
        except json.JSONDecodeError:
            params[key.strip()] = value
    return params


def run(args: argparse.Namespace) -> int:
    from ..core.synthetic.dataset import write_dataset

    if args.n < 1:
        raise CLIError("--n must be at least 1")
    gen = write_dataset(
        args.outdir,
        args.n,
        seed=args.seed,
        kinds=args.kind,
        shape=tuple(args.size),
        pixel_size=args.pixel_size,
        val_fraction=args.val_fraction,
        params=_params(args.set),
        overwrite=args.overwrite,
    )
    try:
        summary = run_to_end(gen, lambda p: log.info("%d/%d %s", p.step, p.total, p.message))
    except FileExistsError as exc:  # a folder in use: the message says what to do
        raise CLIError(str(exc)) from exc
    except (ValueError, TypeError) as exc:
        raise CLIError(str(exc)) from exc
    except OSError as exc:
        raise CLIError(f"cannot write to {args.outdir}: {exc}") from exc
    if summary.get("note"):
        log.warning("%s", summary["note"])
    print_json(summary)
    return 0
