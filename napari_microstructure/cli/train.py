"""``napari-microstructure train DATA_YAML --out DIR``: fine-tune a YOLO detector or segmenter."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..core.progress import Progress, run_to_end
from . import CLIError
from ._common import pixel_size_arg, print_json

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train", help="train / fine-tune a YOLO detection or segmentation model on a data.yaml"
    )
    p.add_argument("data", metavar="DATA_YAML", help="dataset (e.g. from `export`)")
    p.add_argument("--task", choices=["detect", "segment"], default="detect")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument(
        "--from",
        dest="base",
        metavar="PT",
        help="model to fine-tune (.pt or .yaml); default with --project: the project's active "
        "model of the task (detect: else the demo detector), else a new YOLOv8n(-seg)",
    )
    p.add_argument(
        "--out", required=True, metavar="DIR", help="folder for the run (weights in DIR/train)"
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="train over an earlier run in DIR/train (without it such a run is refused, so its "
        "weights are not replaced by mistake)",
    )
    p.add_argument("--device", help="'cpu', '0', or '0,1,...' for multi-GPU (ultralytics DDP)")
    p.add_argument("--imgsz", type=int, default=640, help="training image size, 32 to 8192")
    p.add_argument("--batch", type=int, default=8, help="images per batch, at least 1")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--pixel-size", type=pixel_size_arg, help="µm/px of the training images (recorded)"
    )
    p.add_argument(
        "--project",
        metavar="PROJECT",
        help="store the result as a candidate model version here (as Retrain: a dataset "
        "exported with `export --only-done`; one exported without it is refused)",
    )
    p.add_argument("--accept", action="store_true", help="with --project: make it active")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=run)


def _echo(p: Progress) -> None:
    print(f"[{p.step}/{p.total}] {p.message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from ..core.curate.project import Project, ProjectError
    from ..core.curate.train import TrainJob, data_pixel_size

    if args.accept and not args.project:
        raise CLIError("--accept needs --project (the project whose active model it becomes)")
    out = Path(args.out)
    there = next(p for p in (out, *out.parents) if p.exists())  # before the training, not after
    if not there.is_dir():
        raise CLIError(f"--out {out}: {there} is a file, not a folder for the run")
    try:
        base = args.base
        if args.project:  # read before training: a wrong folder is refused at once
            project = Project.open(args.project)
            _require_only_done(args.data, args.project)
            base = base or project.start_model(args.task)  # as the dock's Retrain
        job = TrainJob(
            args.data,
            args.out,
            task=args.task,
            epochs=args.epochs,
            imgsz=args.imgsz,
            base=base,
            device=args.device,
            batch=args.batch,
            seed=args.seed,
            pixel_size=args.pixel_size,
            overwrite=args.overwrite,
        )
        _require_8bit(args.data)
        if not (args.pixel_size or data_pixel_size(args.data)):
            log.warning(
                "%s: no pixel size: pass --pixel-size UM (µm/px of the training images) so "
                "that detect can resample images of other pixel sizes to the model's",
                args.data,
            )
        result = run_to_end(job.run(), _echo)
    except (ProjectError, ValueError, FileNotFoundError) as exc:
        raise CLIError(str(exc)) from exc
    except OSError as exc:  # e.g. a file where the run's folders go, a full disk
        raise CLIError(f"cannot read the data or write the run in {out}: {exc}") from exc
    except RuntimeError as exc:
        why = _dataset_error(exc)
        if why is None:
            raise
        raise CLIError(why) from exc
    if result.weights is None:
        raise CLIError("training was stopped before any weights were saved")
    held = _held_out(args.data)
    metrics = dict(result.metrics)
    if held is not None:  # as the dock records them: on what the metrics were measured
        metrics.update(held_out_images=held[0], held_out_objects=held[1])
    note = _note(held)
    out: dict[str, Any] = {
        "weights": str(result.weights),
        "task": result.task,
        "epochs": result.epochs_done,
        "metrics_val": metrics,
        "held_out_note": note or None,
        "history": result.history,
    }
    if args.project:
        out["version"] = _store(args, result, metrics, base)
    if args.json:
        print_json(out)
    else:
        m = result.metrics
        print(f"weights: {result.weights}")
        print(
            f"{'' if note else 'held-out '}mAP50 {m.get('map50', float('nan')):.3f}  "
            f"mAP50-95 {m.get('map50_95', float('nan')):.3f}" + (f"  ({note})" if note else "")
        )
        if "version" in out:
            print(f"stored as {out['version']} in {args.project}")
    return 0


def _store(args: argparse.Namespace, result: Any, metrics: dict, base: Any) -> str:
    """Store the trained model in ``args.project`` (read again: another window or program,
    Curate's autosave, may have saved it during the training); its version."""
    from ..core.curate.project import Project

    where = f"its weights are in {result.weights}"
    try:
        project = Project.open(args.project)
        version = project.add_trained(result, metrics, base)
    except (ValueError, OSError, KeyError) as exc:  # ProjectError is a ValueError
        raise CLIError(
            f"the model was trained but not stored in {args.project}: {exc}; {where}"
        ) from exc
    if args.accept:
        try:
            project.accept_model(version)
        except (ValueError, OSError, KeyError) as exc:  # ProjectError is a ValueError
            why = f"stored as {version} in {args.project} but not accepted: {exc}"
            raise CLIError(why) from exc
    return version


def _require_only_done(data: str, project: str) -> None:
    """Refuse a dataset that `export` wrote without ``--only-done``: its images not marked
    done (the detector's unchecked proposals) would teach the project's model."""
    from ..core.curate.export_record import export_info
    from ..core.curate.yolo import dataset_folder

    info = export_info(dataset_folder(data))
    if info is None:  # not written by `export`: the user's own dataset
        return
    if "only_done" not in info:  # an older version's export
        log.warning(
            "%s: exported by an older version, which did not record whether only the images "
            "marked done were exported; export again with --only-done to be sure",
            data,
        )
    elif not info["only_done"]:
        raise CLIError(
            f"{data} was exported without --only-done: images not marked done (unchecked "
            "proposals) would be training labels of a model stored in "
            f"{project}; export again with `napari-microstructure export {project} --out DIR "
            "--only-done`, or train without --project"
        )


def _require_8bit(data: str, per_split: int = 20) -> None:
    """Refuse a dataset of images wider than 8 bits (up to ``per_split`` of its train and val
    images are read, their headers only): ultralytics keeps their high byte, 12-bit data as
    grey levels 0..15, while ``detect`` stretches such images to 0..255."""
    for path in _dataset_images(data, per_split):
        kind = _wide_kind(path)
        if kind:
            raise CLIError(
                f"{path.name} is a {kind} image: ultralytics would read it as 8 bits (12-bit "
                "data as grey levels 0..15), while detect stretches such images to 0..255; "
                "convert the dataset to 8 bits first (`napari-microstructure export` of a "
                "project holding the images writes them scaled as detect scales them)"
            )


def _dataset_images(data: str, per_split: int) -> list[Path]:
    """Up to ``per_split`` train and val images of a data.yaml, found as ultralytics does
    (folders, image lists in .txt files); [] when they cannot be found (ultralytics says why)."""
    import itertools

    import yaml

    try:
        doc = yaml.safe_load(Path(data).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    if not isinstance(doc, dict):
        return []
    root = Path(str(doc.get("path") or Path(data).parent))
    found: list[Path] = []
    for split in ("train", "val"):
        entries = doc.get(split) or []
        entries = [entries] if isinstance(entries, str) else list(entries)
        names = itertools.chain.from_iterable(_listed(root / str(e)) for e in entries)
        found += itertools.islice((p for p in names if p.suffix.lower() in _DEEP), per_split)
    return found


def _listed(entry: Path) -> Iterator[Path]:
    """The images of one train/val entry of a data.yaml: a folder, a .txt list or an image."""
    if entry.is_dir():
        yield from entry.rglob("*")
    elif entry.suffix.lower() == ".txt" and entry.is_file():
        for line in entry.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip()  # "./x.png" is beside the list, as ultralytics reads it
            if line:
                yield entry.parent / line[2:] if line.startswith("./") else Path(line)
    else:
        yield entry


#: the image formats that can hold more than 8 bits a sample
_DEEP = (".png", ".tif", ".tiff")


def _wide_kind(path: Path) -> str | None:
    """ "uint16" (the sample type) for an image wider than 8 bits, else (or unreadable) None."""
    try:
        if path.suffix.lower() == ".png":
            with open(path, "rb") as fh:
                head = fh.read(25)  # signature, IHDR length and tag, width, height, bit depth
            return "16-bit" if len(head) == 25 and head[24] == 16 else None
        import tifffile

        with tifffile.TiffFile(path) as tif:
            dtype = tif.pages.first.dtype
        return str(dtype) if dtype is not None and dtype.itemsize > 1 else None
    except Exception:  # noqa: BLE001 - a broken file is ultralytics' to report
        return None


def _dataset_error(exc: RuntimeError) -> str | None:
    """ultralytics' "Dataset ... error" (images not found: an export folder moved) in a line;
    None for another error."""
    text = str(exc.__cause__ or exc)
    if not str(exc).startswith("Dataset "):
        return None
    first = text.strip().splitlines()[0] if text.strip() else str(exc)
    return f"cannot train on this dataset: {first.replace('❌', '').strip()}"


def _held_out(data: str) -> tuple[int, int] | None:
    """``(images, objects)`` held out for validation in a dataset written by ``export``
    (images/train and images/val); None for another layout (nothing to say about it)."""
    from ..core.curate.yolo import dataset_folder, held_out

    return held_out(data) if (dataset_folder(data) / "images" / "val").is_dir() else None


def _note(held: tuple[int, int] | None) -> str:
    from ..core.curate.yolo import held_out_note

    return held_out_note(*held) if held is not None else ""
