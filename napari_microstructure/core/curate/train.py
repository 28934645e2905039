"""Fine-tune a YOLO detector (or segmentation model) on an exported dataset, with cancel.

ultralytics' training loop is blocking, so :class:`TrainJob` runs it in a thread and turns its
callbacks (``on_train_batch_end``, ``on_fit_epoch_end``) into :class:`Progress` items with the
live metrics. ``job.cancel()`` stops it at the next batch. Multi-GPU (``device="0,1"``) is handed
to ultralytics' own DDP, which trains in a subprocess: then only the final result is reported.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..progress import Progress
from ..yolo_env import import_ultralytics

log = logging.getLogger(__name__)

TASKS = ("detect", "segment")
DEFAULT_YAML = {"detect": "yolov8n.yaml", "segment": "yolov8n-seg.yaml"}


class TrainingCancelled(Exception):
    """Raised inside ultralytics' loop to stop a training the user cancelled."""


@dataclass
class TrainResult:
    """A finished (or cancelled) training."""

    weights: Path | None
    task: str
    data: Path
    metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)
    cancelled: bool = False
    epochs_done: int = 0


def short_metrics(raw: dict[str, Any]) -> dict[str, float]:
    """ultralytics' metric keys to short names: map50, map50_95, precision, recall (+ losses)."""
    out: dict[str, float] = {}
    for key, value in (raw or {}).items():
        try:
            v = float(value)
        except (TypeError, ValueError):
            continue
        k = str(key)
        if k.startswith("metrics/"):
            suffix = "" if k.endswith("(B)") else "_mask" if k.endswith("(M)") else ""
            base = k[len("metrics/") :].split("(")[0]
            base = {"mAP50": "map50", "mAP50-95": "map50_95"}.get(base, base)
            out[base + suffix] = v
        else:
            out[k.replace("/", "_")] = v
    return out


def data_pixel_size(data: str | Path) -> float | None:
    """The ``pixel_size_um`` a ``data.yaml`` names (our exports write the images' median), or
    None when it names none or cannot be read."""
    import yaml

    try:
        doc = yaml.safe_load(Path(data).read_text(encoding="utf-8"))
        value = float(doc.get("pixel_size_um")) if isinstance(doc, dict) else None
    except (OSError, ValueError, TypeError, yaml.YAMLError):
        return None
    return value if value is not None and math.isfinite(value) and value > 0 else None


def preload_torch() -> None:
    """Import torch's compiler stack on the calling thread before a training starts.

    ultralytics' training imports ``torch._dynamo``; importing it here, once, keeps that import
    out of the worker thread. triton, which it would load, is hidden by the package import
    (see ``napari_microstructure._triton_guard``).
    """
    import torch._dynamo  # noqa: F401


def _build_model(task: str, base: str | Path | None, model_yaml: str | None) -> Any:
    import_ultralytics()
    from ultralytics import YOLO

    cfg = model_yaml or DEFAULT_YAML[task]
    if base is None:
        return _check_head(YOLO(cfg, task=task), task, Path(cfg).name)
    base = Path(base)
    if not base.is_file():
        raise ValueError(f"starting model not found: {base}")
    try:  # a yaml too: a data.yaml given by mistake fails with a KeyError
        model = YOLO(str(base), task=task) if base.suffix.lower() == ".yaml" else YOLO(str(base))
    except Exception as exc:  # noqa: BLE001 - ultralytics raises many types for a foreign file
        raise ValueError(
            f"{base.name}: not an ultralytics detection or segmentation model to start from "
            f"({type(exc).__name__}); give a YOLO .pt or a model .yaml"
        ) from None
    if model.task != task:  # e.g. a segmenter from a detector: the matching weights
        model = YOLO(cfg, task=task).load(str(base))
    return _check_head(model, task, base.name)


def _check_head(model: Any, task: str, name: str) -> Any:
    """``model``, refused unless its network ends in the YOLO head of ``task`` (a
    classification or pose .yaml builds, then fails inside the training)."""
    from ultralytics.nn.modules.head import OBB, Detect, Pose, Segment

    layers = getattr(getattr(model, "model", None), "model", None)
    head = layers[-1] if layers is not None and len(layers) else None
    want = "Segment" if task == "segment" else "Detect"
    ok = isinstance(head, Segment) if task == "segment" else isinstance(head, Detect)
    ok = ok and (task == "segment" or not isinstance(head, Segment | Pose | OBB))
    if not ok:
        found = type(head).__name__ if head is not None else "no YOLO layer list"
        raise ValueError(
            f"{name}: not a YOLO {task} model to start from (its network ends in {found}, not a "
            f"{want} head); give a YOLO {task} .pt or model .yaml"
        )
    return model


#: ultralytics settings for fine-tuning on a project's few corrected images: AdamW at a small
#: rate without warm-up (3 of a short run's epochs otherwise), and a weight update after every
#: batch (ultralytics adds up the gradients of 64 images before one by default: a project of 8
#: images would get 2 or 3 updates in 20 epochs)
FINE_TUNE: dict[str, Any] = {"optimizer": "AdamW", "lr0": 0.002, "warmup_epochs": 0}
#: the smallest training image size: YOLO's largest stride
IMGSZ_MIN = 32


class TrainJob:
    """One training run; iterate :meth:`run` to drive it, call :meth:`cancel` to stop it.

    Parameters
    ----------
    data : ``data.yaml`` of a YOLO dataset (see :mod:`.yolo`).
    out_dir : folder for ultralytics' run (weights end in ``out_dir/train/weights``).
    task : "detect" or "segment".
    base : ``.pt`` to fine-tune (None: a new model from ``model_yaml``).
    device : passed to ultralytics ("cpu", "0", "0,1", ...; None = its default).
    pixel_size : µm/px of the training images, recorded next to the weights for scale-aware
        detection; None takes the ``pixel_size_um`` of ``data`` (:func:`data_pixel_size`).
    overwrite : train over an earlier run in ``out_dir/train`` (False: such a folder that is
        not empty is refused, so its weights are not replaced by mistake).
    train_kwargs : more ultralytics training arguments; they override :data:`FINE_TUNE`.
    """

    def __init__(
        self,
        data: str | Path,
        out_dir: str | Path,
        task: str = "detect",
        epochs: int = 10,
        imgsz: int = 640,
        base: str | Path | None = None,
        device: str | None = None,
        batch: int = 8,
        seed: int = 0,
        model_yaml: str | None = None,
        pixel_size: float | None = None,
        overwrite: bool = False,
        **train_kwargs: Any,
    ) -> None:
        from ..detect.model import IMGSZ_MAX

        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, not {task!r}")
        if int(epochs) < 1:
            raise ValueError("epochs must be at least 1")
        if not IMGSZ_MIN <= int(imgsz) <= IMGSZ_MAX:  # detect refuses a model recording another
            raise ValueError(
                f"imgsz (--imgsz) must be a whole number of pixels between {IMGSZ_MIN} and "
                f"{IMGSZ_MAX}, got {imgsz}"
            )
        if int(batch) < 1:
            raise ValueError(f"batch (--batch) must be at least 1 image, got {batch}")
        self.data = Path(data)
        if not self.data.is_file():
            raise ValueError(f"dataset file not found: {self.data}")
        self.out_dir = Path(out_dir)
        run_dir = self.out_dir / "train"
        if not overwrite and run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
            raise ValueError(
                f"{run_dir} holds an earlier run; choose a new or empty folder, or pass "
                "--overwrite (overwrite=True) to train over it (its weights are replaced)"
            )
        self.task = task
        self.epochs = int(epochs)
        self.imgsz = int(imgsz)
        self.base = base
        self.device = str(device) if device not in (None, "") else None
        self.batch = int(batch)
        self.seed = int(seed)
        self.model_yaml = model_yaml
        self.pixel_size = pixel_size if pixel_size else data_pixel_size(self.data)
        self.train_kwargs = train_kwargs
        self._cancel = threading.Event()
        preload_torch()
        self._events: queue.Queue = queue.Queue()
        self._train_ends = 0
        self._fit_ends = 0

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Stop at the next training batch (the run then returns a cancelled result)."""
        self._cancel.set()

    # -- callbacks (training thread) ----------------------------------------------------------
    def _on_batch_end(self, trainer: Any) -> None:
        if self._cancel.is_set():
            raise TrainingCancelled

    def _on_train_epoch_end(self, trainer: Any) -> None:
        self._train_ends += 1

    def _on_fit_epoch_end(self, trainer: Any) -> None:
        row: dict[str, Any] = {"epoch": int(trainer.epoch) + 1}
        # ultralytics calls this once more after the last epoch, validating best.pt
        row["final"] = self._fit_ends >= self._train_ends
        self._fit_ends += 1
        row.update(short_metrics(getattr(trainer, "metrics", None) or {}))
        try:
            losses = trainer.label_loss_items(trainer.tloss, prefix="train")
            row.update(short_metrics(losses))
        except (AttributeError, TypeError, ValueError):
            pass
        self._events.put(("epoch", row))
        if self._cancel.is_set():
            raise TrainingCancelled

    def _forget_earlier_run(self, _trainer: Any = None) -> None:
        """Delete an earlier run's sidecars (they would describe, and read first override, new
        weights should this run stop before writing its own) and its appended metrics table,
        once the data set and model are checked and training starts: a refused run keeps
        them."""
        old = self.out_dir / "train"
        for stale in [*(old / "weights").glob("*.json"), old / "results.csv"]:
            stale.unlink(missing_ok=True)

    def _train(self) -> None:
        try:
            model = _build_model(self.task, self.base, self.model_yaml)
            model.add_callback("on_train_batch_end", self._on_batch_end)
            model.add_callback("on_train_epoch_end", self._on_train_epoch_end)
            model.add_callback("on_fit_epoch_end", self._on_fit_epoch_end)
            model.add_callback("on_pretrain_routine_end", self._forget_earlier_run)
            args: dict[str, Any] = {
                "data": str(self.data),
                "epochs": self.epochs,
                "imgsz": self.imgsz,
                "batch": self.batch,
                "workers": 0,
                "project": str(self.out_dir.resolve()),
                "name": "train",
                "exist_ok": True,
                "plots": False,
                "seed": self.seed,
                "deterministic": True,
                "verbose": False,
                **FINE_TUNE,
                "nbs": self.batch,  # no gradient accumulation (FINE_TUNE)
            }
            if self.device is not None:
                args["device"] = self.device
            args.update(self.train_kwargs)
            model.train(**args)
            trainer = model.trainer
            weights = trainer.best if trainer.best.exists() else trainer.last
            final = short_metrics(getattr(trainer, "metrics", None) or {})
            self._events.put(("done", (Path(weights), final, model.names)))
        except TrainingCancelled:
            self._events.put(("cancelled", None))
        except Exception as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            self._events.put(("error", exc))

    # -- driver -------------------------------------------------------------------------------
    def run(self) -> Generator[Progress | None, None, TrainResult]:
        """Train; yields one Progress per epoch (message with the metrics), and None while
        there is no news (every 0.2 s); returns the result."""
        thread = threading.Thread(target=self._train, name="curate-train", daemon=True)
        history: list[dict[str, float]] = []
        total = self.epochs
        multi = self.device is not None and "," in self.device
        note = " (multi-GPU: ultralytics reports progress in its console)" if multi else ""
        yield Progress(0, total, f"training {self.task} model{note}")
        thread.start()
        try:
            while True:
                try:
                    kind, payload = self._events.get(timeout=0.2)
                except queue.Empty:
                    # no news: a step all the same, where a napari worker's quit (the window
                    # closed) takes effect, not at the end of the epoch
                    yield None
                    continue
                if kind == "epoch":
                    if not payload["final"]:
                        history.append(payload)
                    yield Progress(min(payload["epoch"], total), total, _describe(payload, total))
                elif kind == "cancelled":
                    return TrainResult(None, self.task, self.data, {}, history, True, len(history))
                elif kind == "error":
                    raise payload
                else:
                    weights, final, names = payload
                    self._write_info(weights, final, names)
                    return TrainResult(
                        weights, self.task, self.data, final, history, False, len(history)
                    )
        finally:
            if thread.is_alive():
                self.cancel()
                thread.join()

    def _write_info(self, weights: Path, metrics: dict[str, float], names: Any) -> None:
        from ..detect import write_model_info

        info = {
            "task": self.task,
            "imgsz": self.imgsz,
            "pixel_size_um": self.pixel_size,
            "classes": {int(k): str(v) for k, v in dict(names or {}).items()},
            "metrics_val": metrics,
            "data": str(self.data.resolve()),  # as the manifest: not the working folder's
            "base": str(Path(self.base).resolve()) if self.base else None,
        }
        write_model_info(weights, info)


def _describe(row: dict[str, float], total: int) -> str:
    if row.get("final"):
        parts = ["validation of the best weights"]  # callers say on what (held_out_note)
    else:
        parts = [f"epoch {row['epoch']}/{total}"]
    for key in ("map50", "map50_95", "map50_mask"):
        if key in row:
            parts.append(f"{key} {row[key]:.3f}")
    return ", ".join(parts)


def train(
    data: str | Path, out_dir: str | Path, **kwargs: Any
) -> Generator[Progress | None, None, TrainResult]:
    """Generator form of :class:`TrainJob` (``kwargs`` as its parameters)."""
    return TrainJob(data, out_dir, **kwargs).run()
