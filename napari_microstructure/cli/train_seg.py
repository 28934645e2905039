"""``napari-microstructure train-seg``: train a U-Net for phases or grain boundaries."""

from __future__ import annotations

import argparse
import logging
import sys

from . import CLIError
from ._common import pixel_size_arg, print_json

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train-seg",
        help="train a segmentation model (phases or grain boundaries) from image/mask folders "
        "or an annotation project",
        description="Train a compact U-Net (on the CPU unless --device names a GPU) from "
        "folders of images and masks of the same names (a mask may add _label or _mask), or "
        "from the images of an annotation project marked done. "
        "Phase masks hold a class index per pixel (255 = not annotated); boundary masks are "
        "bright lines on black; a project's boundaries are the outlines of its grain labels.",
    )
    p.add_argument("--images", metavar="DIR", help="folder of micrographs")
    p.add_argument("--masks", metavar="DIR", help="folder of masks")
    p.add_argument(
        "--project",
        metavar="DIR",
        help="annotation project (instead of --images/--masks): its images marked done, "
        "with their phase labels or grain outlines, class names and pixel size",
    )
    p.add_argument("--task", required=True, choices=["phases", "boundaries"])
    p.add_argument("--out", required=True, metavar="MODEL", help="model file to write (.pt)")
    p.add_argument("--epochs", type=int, default=30, help="maximum epochs (default 30)")
    p.add_argument("--from", dest="init", metavar="MODEL", help="fine-tune this model")
    p.add_argument("--classes", nargs="+", metavar="NAME", help="class names, index order")
    p.add_argument(
        "--pixel-size",
        type=pixel_size_arg,
        help="µm/px of the --images (instead of what their files say)",
    )
    p.add_argument("--steps", type=int, default=20, help="batches per epoch (default 20)")
    p.add_argument("--batch", type=int, default=8, help="crops per batch (default 8)")
    p.add_argument("--crop", type=int, default=128, help="crop side in pixels (default 128)")
    p.add_argument("--base", type=int, default=16, help="U-Net base channels (default 16)")
    p.add_argument("--depth", type=int, default=4, help="U-Net levels (default 4)")
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate")
    p.add_argument("--val-fraction", type=float, default=0.2, help="held-out share of images")
    p.add_argument(
        "--patience", type=int, default=8, help="early-stopping patience (epochs; 2+ images)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--pretrain-synthetic",
        type=int,
        default=0,
        metavar="N",
        help="start from synthetic micrographs: pretrain on N of them (0 = no); for --task "
        "boundaries at the default --base/--depth, the built-in boundary model (256 of them)",
    )
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    p.add_argument("--device", default="cpu", help="torch device: cpu (default), cuda, cuda:1")
    p.add_argument(
        "--workers",
        type=int,
        default=0,
        help="threads drawing the next training batches during a step (0 = none): speeds up "
        "training on a GPU, not on a CPU of few cores; the batches stay the same",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from ..core.imageio import ImageReadError
    from ..core.progress import run_to_end
    from ..core.segment import (
        TrainConfig,
        fine_tune_settings,
        load_model,
        load_pairs,
        project_training_data,
        synthetic_start,
        train_model,
    )
    from ..core.segment.model import check_save_path, save_or_keep

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.epochs < 1:
        raise CLIError("--epochs must be at least 1")
    if bool(args.project) == bool(args.images or args.masks):
        raise CLIError("give either --images and --masks, or --project")
    if not args.project and not (args.images and args.masks):
        raise CLIError("--images and --masks go together")
    if args.project and args.pixel_size:
        raise CLIError("--pixel-size is for --images folders: a project's images carry theirs")
    if args.init and args.pretrain_synthetic > 0:
        raise CLIError("start from --from MODEL or from --pretrain-synthetic, not both")
    classes = args.classes
    try:
        check_save_path(args.out)  # before a long training, not after it
        if args.project:
            found = project_training_data(args.project, args.task)
            pairs, classes = found.pairs, classes or found.classes
        else:
            pairs = load_pairs(args.images, args.masks, args.task, pixel_size=args.pixel_size)
    except (ValueError, ImageReadError) as exc:
        raise CLIError(str(exc)) from exc
    in_ch = pairs[0].image.shape[0]
    try:
        cfg = TrainConfig(
            task=args.task,
            classes=classes,
            epochs=args.epochs,
            steps_per_epoch=args.steps,
            batch_size=args.batch,
            crop=args.crop,
            lr=args.lr,
            base=args.base,
            depth=args.depth,
            val_fraction=args.val_fraction,
            patience=args.patience,
            seed=args.seed,
            pixel_size=args.pixel_size,
            device=args.device,
            workers=args.workers,
        )
        init = load_model(args.init) if args.init else None
        if init is not None:  # its size, class names and (where none is known) pixel size
            cfg = fine_tune_settings(cfg, init, pairs)
    except (OSError, ValueError) as exc:
        raise CLIError(str(exc)) from exc

    def report(p) -> None:
        # one line per epoch: its summary (mean loss, and the validation score if any)
        if p.message.startswith("epoch") and ": mean loss" in p.message:
            print(p.message, file=sys.stderr, flush=True)

    if args.pretrain_synthetic > 0:

        def report_start(p) -> None:
            if not p.message.startswith("epoch"):  # drawing images / the built-in model
                print(p.message, file=sys.stderr, flush=True)
            report(p)

        init = run_to_end(
            synthetic_start(
                args.task, in_ch, cfg.base, cfg.depth, args.pretrain_synthetic, args.seed
            ),
            report_start,
        )
    try:
        model = run_to_end(train_model(pairs, cfg, init=init), report)
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    problem = save_or_keep(model, args.out)
    if problem and model.path is None:
        raise CLIError(f"{problem}; nor could it be saved in the cache folder")
    if problem:
        print(f"train-seg: {problem}; saved as {model.path} instead", file=sys.stderr)
    path = model.path
    print_json(
        {
            "model": str(path),
            "task": model.task,
            "classes": model.classes,
            "pixel_size": model.pixel_size,
            "metrics": {k: v for k, v in model.metrics.items() if k != "history"},
        }
    )
    return 0
