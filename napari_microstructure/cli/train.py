"""``napari-microstructure train DATA_YAML --out DIR``: fine-tune a YOLO detector or segmenter."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.progress import Progress, run_to_end
from . import CLIError
from ._common import pixel_size_arg, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train / fine-tune a YOLO detection or segmentation model on a data.yaml"
    )
    p.add_argument("data", metavar="DATA_YAML", help="dataset (e.g. from `export`)")
    p.add_argument("--task", choices=["detect", "segment"], default="detect")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--from", dest="base", metavar="PT", help="model to fine-tune (.pt or .yaml)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the run")
    p.add_argument("--device", help="'cpu', '0', or '0,1,...' for multi-GPU (ultralytics DDP)")
    p.add_argument("--imgsz", type=int, default=640)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--pixel-size", type=pixel_size_arg, help="µm/px of the training images (recorded)"
    )
    p.add_argument(
        "--project", metavar="PROJECT", help="store the result as a candidate model version here"
    )
    p.add_argument("--accept", action="store_true", help="with --project: make it active")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def _echo(p: Progress) -> None:
    print(f"[{p.step}/{p.total}] {p.message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from ..core.curate.project import Project, ProjectError
    from ..core.curate.train import TrainJob

    try:
        project = Project.open(args.project) if args.project else None
        job = TrainJob(
            args.data,
            args.out,
            task=args.task,
            epochs=args.epochs,
            imgsz=args.imgsz,
            base=args.base,
            device=args.device,
            batch=args.batch,
            seed=args.seed,
            pixel_size=args.pixel_size,
        )
        result = run_to_end(job.run(), _echo)
    except (ProjectError, ValueError, FileNotFoundError) as exc:
        raise CLIError(str(exc)) from exc
    if result.weights is None:
        raise CLIError("training was stopped before any weights were saved")
    out = {
        "weights": str(result.weights),
        "task": result.task,
        "epochs": result.epochs_done,
        "metrics_val": result.metrics,
        "history": result.history,
    }
    if project is not None:
        version = project.add_model(
            result.weights,
            args.task,
            result.metrics,
            parent=args.base,
            data=str(args.data),
            history=result.history,
        )
        if args.accept:
            project.accept_model(version)
        out["version"] = version
    if args.json:
        print_json(out)
    else:
        m, note = result.metrics, _held_out_note(args.data)
        print(f"weights: {result.weights}")
        print(
            f"{'' if note else 'held-out '}mAP50 {m.get('map50', float('nan')):.3f}  "
            f"mAP50-95 {m.get('map50_95', float('nan')):.3f}" + (f"  ({note})" if note else "")
        )
        if "version" in out:
            print(f"stored as {out['version']} in {args.project}")
    return 0


def _held_out_note(data: str) -> str:
    """What the validation metrics were measured on when not on held-out objects (a dataset
    written by ``export``: images/train and images/val); "" otherwise."""
    from ..core.curate.yolo import held_out, held_out_note

    root = Path(data)
    root = root.parent if root.suffix in (".yaml", ".yml") else root
    if not (root / "images" / "val").is_dir():
        return ""  # another layout: nothing to say about it
    return held_out_note(*held_out(root))
