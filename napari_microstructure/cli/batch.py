"""``napari-microstructure batch INPUT --out DIR``: the pipeline over a folder, resumable."""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from pathlib import Path
from typing import Any

from . import CLIError
from ._common import pixel_size_arg, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "batch",
        help="run the saved pipeline over a folder of images (resumable, Dask, --watch)",
        description="Run detection, grain segmentation and measurement over every image of a "
        "folder (or glob pattern), writing per-image results, results.csv (one row per image) "
        "and report.html into --out. Finished images are skipped on a re-run. Without "
        "--config the pipeline saved from the viewer's docks is used.",
    )
    p.add_argument("input", metavar="INPUT", help="folder, single file or quoted glob pattern")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    p.add_argument("--config", type=Path, metavar="PIPELINE.yaml", help="pipeline file")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="local Dask worker processes (default: CPU count, at most 4); 0 or 1 = no Dask",
    )
    p.add_argument("--threads", type=int, default=1, help="compute threads per worker (1)")
    p.add_argument(
        "--scheduler", metavar="ADDRESS", help="existing Dask scheduler, e.g. tcp://host:8786"
    )
    p.add_argument(
        "--pixel-size", type=pixel_size_arg, metavar="UM", help="µm/px for uncalibrated files"
    )
    p.add_argument("--recursive", action="store_true", help="also take images in sub-folders")
    p.add_argument("--watch", action="store_true", help="keep processing new files (Ctrl+C ends)")
    p.add_argument(
        "--settle",
        type=float,
        default=2.0,
        metavar="S",
        help="--watch: a file is complete once unchanged for S seconds (2)",
    )
    p.add_argument(
        "--idle-exit", type=float, metavar="S", help="--watch: stop after S idle seconds"
    )
    p.add_argument("--no-report", action="store_true", help="skip report.html")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--json", action="store_true", help="print a JSON summary of the run")
    p.set_defaults(func=run)


def load_config(path: Path | None, pixel_size: float | None) -> Any:
    """The pipeline of ``--config`` or of the stored settings, with ``--pixel-size`` applied."""
    from ..core.pipeline import PipelineConfig, PipelineError

    try:
        config = PipelineConfig.load(path) if path else _stored_pipeline()
        if pixel_size is not None:
            config.pixel_size = pixel_size
            config.validate()
    except PipelineError as exc:
        raise CLIError(str(exc)) from exc
    return config


def _stored_pipeline() -> Any:
    """The pipeline of the stored settings; a bad stored value says how to get past it."""
    from ..core.pipeline import PipelineConfig, PipelineError

    try:
        return PipelineConfig.from_settings()
    except PipelineError as exc:
        raise PipelineError(f"{exc}; correct it or give --config") from exc


class _Bar:
    """tqdm progress bar (rate, ETA) on stderr, fed by the run's progress events."""

    def __init__(self, enabled: bool) -> None:
        self.bar = None
        self.enabled = enabled

    def __call__(self, kind: str, info: dict[str, Any]) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if kind == "start":
            if info["skipped"]:
                print(f"{info['skipped']} images already done (skipped)", file=sys.stderr)
            self.bar = tqdm(total=info["total"], unit="img", desc="batch", file=sys.stderr)
        elif kind == "added" and self.bar is not None:
            self.bar.total += info["n"]
            self.bar.refresh()
        elif kind == "done" and self.bar is not None:
            self.bar.update(1)
            if info["status"] != "ok":
                err = str(info["error"])
                msg = err if err.startswith(info["image"]) else f"{info['image']}: {err}"
                self.bar.write(f"failed: {msg}", file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run(args: argparse.Namespace) -> int:
    from ..core.batch import run_batch

    config = load_config(args.config, args.pixel_size)
    workers = args.workers if args.workers is not None else min(os.cpu_count() or 1, 4)
    if workers < 0 or args.threads < 1:
        raise CLIError("--workers must be >= 0 and --threads >= 1")
    if args.out.exists() and not args.out.is_dir():
        raise CLIError(f"{args.out}: exists and is not a folder")
    for name in ("settle", "idle_exit"):
        value = getattr(args, name)
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise CLIError(f"--{name.replace('_', '-')} must be a number of seconds >= 0")
    if not args.verbose and (workers > 1 or args.scheduler):
        # Dask logs its cluster's start and stop at INFO, set when it is imported: keep the
        # terminal to the progress bar
        import distributed  # noqa: F401

        logging.getLogger("distributed").setLevel(logging.WARNING)
    if config.detect is None and config.grains is None and config.phases is None:
        print(
            "note: the pipeline has neither detection nor grain or phase segmentation (save one "
            "with 'Save pipeline' in the Measure dock, or pass --config): only the quality gate "
            "runs",
            file=sys.stderr,
        )
    bar = _Bar(not args.no_progress)
    try:
        result = run_batch(
            args.input,
            args.out,
            config,
            workers=workers,
            scheduler=args.scheduler,
            threads=args.threads,
            watch=args.watch,
            settle_s=args.settle,
            max_idle_s=args.idle_exit,
            recursive=args.recursive,
            progress=bar,
            report=not args.no_report,
        )
    except (FileNotFoundError, ValueError) as exc:  # also BatchError: a run that cannot start
        raise CLIError(str(exc)) from exc
    except OSError as exc:
        raise CLIError(f"cannot reach the Dask scheduler or write results: {exc}") from exc
    finally:
        bar.close()
    summary = {
        "processed": result.processed,
        "failed": result.failed,
        "skipped": result.skipped,
        "seconds": round(result.seconds, 2),
        "images_per_s": round(result.processed / result.seconds, 3) if result.seconds else None,
        "table": result.table_path,
        "report": result.report_path,
        "pipeline": config.describe(),
    }
    if args.json:
        print_json(summary)
    else:
        line = (
            f"{result.processed} processed ({result.failed} failed), {result.skipped} skipped "
            f"in {result.seconds:.1f} s — {result.table_path}"
        )
        if result.failed:
            line += f" — {result.failed} failed in this run: exit status 1"
        print(line)
    # like info/detect/segment: 1 when a file of this run failed (earlier runs' do not count)
    return 1 if result.failed else 0
