"""``napari-microstructure export PROJECT --out DIR``: an annotation project as training data."""

from __future__ import annotations

import argparse
import logging

from ..core.curate.export import EXPORTERS, export_project
from ..core.curate.project import Project, ProjectError
from ..core.progress import run_to_end
from . import CLIError
from ._common import print_json

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export an annotation project as YOLO / YOLO-seg / COCO / label TIFFs",
    )
    p.add_argument("project", metavar="PROJECT", help="annotation project folder")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (one per format)")
    p.add_argument(
        "--format",
        dest="formats",
        nargs="+",
        choices=sorted(EXPORTERS),
        default=["yolo"],
        help="formats to write (default: yolo)",
    )
    p.add_argument("--val-fraction", type=float, default=0.2, help="share of images for val")
    p.add_argument("--seed", type=int, default=0, help="seed of the train/val split")
    p.add_argument(
        "--only-done",
        action="store_true",
        help="only images marked done (what Retrain exports, and what `train --project` "
        "needs: images not marked done hold unchecked proposals)",
    )
    p.add_argument(
        "--segmentation", choices=["rle", "polygon"], default="rle", help="COCO mask encoding"
    )
    p.add_argument("--json", action="store_true", help="print the files written as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        project = Project.open(args.project)
        result = run_to_end(
            export_project(
                project,
                args.out,
                args.formats,
                val_fraction=args.val_fraction,
                seed=args.seed,
                only_done=args.only_done,
                segmentation=args.segmentation,
            )
        )
    except (ProjectError, ValueError, OSError) as exc:
        raise CLIError(str(exc)) from exc
    if result.left_out:
        log.warning("%s: %s", args.project, result.left_out_text())
    if args.json:
        doc = {"project": args.project, "out": args.out, "files": dict(result)}
        print_json({**doc, "left_out": result.left_out})
    else:
        for fmt, files in result.items():
            print(f"{fmt}: {len(files)} files in {args.out}/{fmt}")
    return 0
