"""One image through the pipeline: read, quality gate, detect, grains, measure, write results.

Every step calls the same core function as the single-image commands (``detect``, ``grains``,
``measure``), so a batch row equals what those commands report for the image alone. The row is
written last and atomically (``result.json``): its presence marks the image as finished, which
is what lets an interrupted run resume.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
import traceback
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_write_text, atomic_write_tiff
from ..measure.io import write_grain_table, write_summary
from ..notes import join_notes
from ..pipeline import PipelineConfig
from ..progress import run_to_end
from .inputs import RESULT_NAME, readable, result_dir, source_id
from .quality import image_quality, structure_flags

log = logging.getLogger(__name__)
MIN_SIDE = 16
SUMMARY_KEYS = (
    "grain_count",
    "mean_intercept",
    "astm_g_intercept",
    "astm_g_planimetric",
    "mean_area",
    "unit",
)


@lru_cache(maxsize=2)
def cached_detector(model: str | None) -> Any:
    """The detector of ``model``, loaded once per process (so once per Dask worker)."""
    from ..detect import load_detector

    return load_detector(model)


@lru_cache(maxsize=2)
def cached_seg_model(path: str) -> Any:
    """A segmentation model (phases, or boundaries for grains), loaded once per process."""
    from ..segment import load_model

    return load_model(path)


def check_models(config: PipelineConfig) -> None:
    """Load every model the pipeline names once, before any image: a wrong path is the
    pipeline's error, not a failure recorded (as finished) for every image.

    Raises
    ------
    ValueError, FileNotFoundError : with a message naming the step and the file.
    """
    if config.detect is not None:
        from ..detect import searched_names
        from ..detect.model import model_note

        detector = cached_detector(config.detect.get("model"))
        if note := model_note(detector):  # the demo model's counts: said once, in the log
            log.warning("detect: %s", note)
        names = detector.names
        try:  # as detection resolves them: a class the model lacks would fail every image
            searched_names(config.detect.get("classes") or None, names)
        except ValueError as exc:
            raise ValueError(f"detect.classes: {exc}") from None
    grains = config.grains or {}
    engine = grains.get("engine", "classical") if config.grains is not None else None
    if engine == "model":
        if not grains.get("model_path"):
            raise ValueError("grains: the model engine needs model_path (a boundaries model)")
        model = cached_seg_model(str(grains["model_path"]))
        if model.task != "boundaries":
            raise ValueError(f"grains.model_path: a {model.task} model, not a boundaries model")
    if engine == "sam":
        ckpt = grains.get("checkpoint")
        if not ckpt or not Path(str(ckpt)).expanduser().is_file():
            raise FileNotFoundError(f"grains: the SAM checkpoint file is not there: {ckpt}")
    if config.phases is not None:
        model = cached_seg_model(str(config.phases["model_path"]))
        if model.task != "phases":
            raise ValueError(f"phases.model_path: a {model.task} model, not a phases model")


#: (section, option) of every model file a pipeline can name
MODEL_PATHS = (
    ("detect", "model"),
    ("grains", "model_path"),
    ("grains", "checkpoint"),
    ("phases", "model_path"),
)


def with_absolute_paths(config: PipelineConfig) -> PipelineConfig:
    """``config`` with its model files named by absolute paths, relative ones taken from this
    process's folder: a Dask worker may run in another folder."""
    data = config.to_dict()
    for section, key in MODEL_PATHS:
        value = (data.get(section) or {}).get(key)
        if isinstance(value, str) and value.strip():
            data[section][key] = str(Path(value).expanduser().absolute())
    return PipelineConfig.from_dict(data)


@lru_cache(maxsize=1)
def limit_threads(n: int) -> int:
    """Bound the compute threads of this process (torch, OpenMP pools) once."""
    os.environ.setdefault("OMP_NUM_THREADS", str(n))
    try:
        import torch

        torch.set_num_threads(n)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    return n


def _pixel_size(file_ps: float | None, config: PipelineConfig) -> tuple[float | None, str]:
    if config.force_pixel_size and config.pixel_size:
        return config.pixel_size, "pipeline"
    if file_ps:
        return file_ps, "file"
    if config.pixel_size:
        return config.pixel_size, "pipeline"
    return None, "none"


def file_warning(note: str, pixel_size: float | None, source: str, forced: bool) -> str:
    """The row's warning for a file's calibration ``note`` (a calibration refused: non-square
    pixels, a print density), saying which pixel size was used instead of the file's:
    a refused calibration is never replaced by the pipeline's one silently."""
    if not note or source != "pipeline" or pixel_size is None:
        return note
    why = "with force_pixel_size" if forced else "for files without a usable calibration"
    return f"{note}; the pipeline's pixel size {why} ({pixel_size:g} µm/px) was used"


def analyse(image: np.ndarray, pixel_size: float | None, config: PipelineConfig) -> dict[str, Any]:
    """Run the configured steps on one image; returns detections, labels, summary, table."""
    from ..measure import measure

    out: dict[str, Any] = {
        "detections": None,
        "searched": [],
        "labels": None,
        "phases": None,
        "summary": None,
        "table": None,
    }
    if config.detect is not None:
        from ..detect import detect, searched_names

        params = {k: v for k, v in config.detect.items() if k != "model"}
        if not params.get("classes"):
            params["classes"] = None
        det = cached_detector(config.detect.get("model"))
        out["searched"] = searched_names(params["classes"], det.names)
        out["detections"] = run_to_end(detect(image, det, pixel_size=pixel_size, **params))
    if config.grains is not None:
        from ..grains import segment_all_grains

        out["labels"] = run_to_end(segment_all_grains(image, pixel_size, **config.grains))
    names = config.measure.get("phase_names") or None
    if config.phases is not None:
        from ..segment import segment_image

        model = cached_seg_model(str(config.phases["model_path"]))
        tta = bool(config.phases.get("tta", False))
        out["phases"] = run_to_end(segment_image(image, model, pixel_size, tta=tta)).labels
        names = names or list(model.classes)
    if config.measures and (out["labels"] is not None or out["phases"] is not None):
        table = bool(config.measure.get("table", True)) and out["labels"] is not None
        summary, per_grain = run_to_end(
            measure(out["labels"], pixel_size, out["phases"], names, table=table)
        )
        if out["labels"] is not None:
            from ..grains import without_one_region_size

            without_one_region_size(summary, out["labels"])  # as ``grains`` reports it
        out["summary"], out["table"] = summary, per_grain
    return out


def _row_from(result: dict[str, Any], row: dict[str, Any]) -> None:
    df = result["detections"]
    if df is not None:
        row["n_detections"] = int(len(df))
        row.update({f"count.{name}": 0 for name in result["searched"]})  # none found: 0
        for name, count in df["class_name"].value_counts().sort_index().items():
            row[f"count.{name}"] = int(count)
    summary = result["summary"]
    if summary is not None:
        for key in SUMMARY_KEYS:
            row[key] = summary[key]
        if summary.get("warning"):
            row["warning"] = join_notes(row.get("warning"), summary["warning"])
        for name, frac in (summary.get("phase_fractions") or {}).items():
            row[f"phase_fraction.{name}"] = frac


def process_image(
    path: str | Path,
    key: str,
    out_dir: str | Path,
    config: dict | PipelineConfig,
    threads: int = 1,
) -> dict[str, Any]:
    """Process one image and write its results; returns its row (also on failure).

    Never raises for a bad image: the error goes into the row (``status`` "error").
    """
    from ..imageio import ImageReadError, read_micrograph

    limit_threads(threads)
    cfg = config if isinstance(config, PipelineConfig) else PipelineConfig.from_dict(config)
    path, folder = Path(path), result_dir(Path(out_dir), key)
    t0, c0 = time.perf_counter(), time.process_time()
    row: dict[str, Any] = {"image": key, "path": str(path), "status": "ok", "error": ""}
    row["source"] = source_id(path)  # which file this result is of (not in the table)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        mf = read_micrograph(path)
        image = mf.image
        if min(image.shape[:2]) < MIN_SIDE:
            raise ImageReadError(f"{path.name}: {image.shape[1]}x{image.shape[0]} px is too small")
        ps, source = _pixel_size(mf.pixel_size, cfg)
        row.update(
            height=int(image.shape[0]),
            width=int(image.shape[1]),
            pixel_size=ps,
            pixel_size_source=source,
        )
        forced = bool(cfg.force_pixel_size and cfg.pixel_size)
        # why the file's calibration was not used (not only on stderr), and for a stack that
        # its plane 0 only was
        if note := join_notes(
            file_warning(mf.calibration_note, ps, source, forced), mf.plane_note("processed")
        ):
            row["warning"] = note
        quality = image_quality(image, cfg.quality)
        result = analyse(image, ps, cfg)
        count = result["summary"]["grain_count"] if result["summary"] is not None else None
        if count is None and result["labels"] is not None:
            count = int(np.unique(result["labels"]).size - (result["labels"] == 0).any())
        flags = list(dict.fromkeys(quality["flags"] + structure_flags(count, cfg.quality)))
        row.update(
            sharpness=quality["sharpness"],
            mean_grey=quality["mean_grey"],
            contrast=quality["contrast"],
            structure=quality["structure"],
            flags=";".join(flags),
            quality_ok=not flags,
        )
        _row_from(result, row)
        if count is not None:  # also without measurement: no_structure was judged on it
            row.setdefault("grain_count", count)
        if result["detections"] is not None:
            atomic_write_text(folder / "detections.csv", result["detections"].to_csv(index=False))
        if result["labels"] is not None:
            atomic_write_tiff(
                folder / "grains.tif", result["labels"].astype(np.uint32), ps, labels=True
            )
        if result["phases"] is not None:
            atomic_write_tiff(
                folder / "phases.tif", result["phases"].astype(np.uint32), ps, labels=True
            )
        if result["summary"] is not None:
            write_summary(folder / "measure.json", result["summary"], {"image": readable(key)})
        if result["table"] is not None:
            write_grain_table(folder / "grains.csv", result["table"])
    except (ImageReadError, ValueError, OSError, MemoryError) as exc:
        row.update(status="error", error=str(exc) or type(exc).__name__)
    except Exception as exc:  # noqa: BLE001 - one bad image must never stop a run
        log.debug("%s failed", path, exc_info=exc)
        row.update(status="error", error=f"{type(exc).__name__}: {exc}")
        row["traceback"] = traceback.format_exc(limit=5)
    row["seconds"] = round(time.perf_counter() - t0, 4)
    row["cpu_seconds"] = round(time.process_time() - c0, 4)
    row["worker_pid"] = os.getpid()
    row["model_loads"] = cached_detector.cache_info().misses
    try:
        write_row(folder, row)
    except OSError as exc:  # not finished: the next run tries the image again
        row.update(status="error", error=f"cannot write the result: {exc}")
    return row


def _clean(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, str):
        return readable(value)  # a file name that is not UTF-8, also inside an error message
    return value


def write_row(folder: Path, row: dict[str, Any]) -> None:
    """Write an image's row as its ``result.json`` (atomically: the image is then finished)."""
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps({k: _clean(v) for k, v in row.items()}, indent=1)
    atomic_write_text(folder / RESULT_NAME, text + "\n")
