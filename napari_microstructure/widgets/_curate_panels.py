"""Parts of the Curate dock: the active-learning queue and the retraining panel."""

from __future__ import annotations

import time
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from magicgui.widgets import (
    ComboBox,
    Container,
    FileEdit,
    FloatSpinBox,
    Label,
    LineEdit,
    PushButton,
    SpinBox,
    Table,
)
from napari.utils.notifications import show_error, show_info

from .._layers import image_layer_kwargs
from ..core.progress import Progress
from ..core.settings import get_setting, set_setting
from ._values import Value

if TYPE_CHECKING:
    from .curate import CurateWidget

# "typical": the ranking's density (how representative of the folder; weighs the score)
QUEUE_COLUMNS = ["rank", "name", "score", "typical", "done"]


def _active_detector_path(owner: CurateWidget) -> Path | None:
    project = owner.project
    active = project.active_for("detect") if project is not None else None
    return project.model_path(active["version"]) if active else None


class QueuePanel(Container):
    """Rank a folder of unlabelled images; open the most uncertain next; mark images done."""

    class_gain = Value("_gain", float)  # weight of the class gain in the queue order

    def __init__(self, owner: CurateWidget) -> None:
        self._owner = owner
        self._folder = FileEdit(label="unlabelled folder", mode="d")
        self._rank = PushButton(text="Rank by uncertainty")
        self._table = Table(value={c: [] for c in QUEUE_COLUMNS})
        self._table.native.verticalHeader().setVisible(False)  # the rank column says the order
        self._table.min_height = 140
        self._table.max_width = 420
        self._next = PushButton(text="Open next")
        self.queue = pd.DataFrame(columns=["rank", "name", "score", "path", "done"])
        # weight of the class gain (classes the done images lack); off by default: the benchmark
        # measured no gain over the plain order (docs/curate.md)
        self._gain = FloatSpinBox(label="class gain", min=0.0, max=5.0, step=0.5, value=0.0)
        widgets = [self._folder, self._gain, self._rank, self._table, self._next]
        super().__init__(widgets=widgets, labels=True)
        self._rank.changed.connect(lambda: self.rank(self._folder.value))
        self._next.changed.connect(self.open_next)

    def rank(self, folder: str | Path) -> Any:
        """Rank the images of ``folder`` with the project's active detector (or the demo one)."""
        from ..core.curate.active import rank_folder
        from ..core.detect import load_detector

        project = self._owner.project
        if project is None:
            show_error("Open a project first: the ranking uses its detector and labelled images.")
            return None
        model = _active_detector_path(self._owner)
        labelled = [i for i in project.image_ids if project.image_record(i).get("files")]
        labelled = labelled[:: max(1, len(labelled) // 16)][:16]
        rarity = self.class_gain

        def make() -> Generator[Progress, None, pd.DataFrame]:
            from ..core.curate.items import labelled_class_counts

            yield Progress(0, 1, "loading the detector")
            detector = load_detector(model)
            # the labelled images are the reference of the out-of-distribution signal
            reference = [project.read_image(i) for i in labelled] or None
            # their classes (images marked done) weight the queue toward classes they lack
            known = {str(v) for v in detector.names.values()}
            counts = {k: v for k, v in labelled_class_counts(project).items() if k in known}
            use = rarity > 0 and any(counts.values())
            return (
                yield from rank_folder(
                    folder,
                    detector,
                    reference=reference,
                    class_counts=counts if use else None,
                    rarity=rarity,
                )
            )

        return self._owner._start(make, self._ranked, "Ranking")

    def _ranked(self, df: pd.DataFrame) -> None:
        done = self._done_sources()
        # queue order = uncertainty + novelty (``priority``), so ``score`` alone is not sorted
        keep = ("rank", "name", "score", "density", "priority", "gain", "path")
        q = df[[c for c in keep if c in df]].copy()
        q["done"] = [p in done for p in q["path"]]
        self.queue = q.reset_index(drop=True)
        self._show()

    def _done_sources(self) -> set[str]:
        project = self._owner.project
        if project is None:
            return set()
        recs = [project.image_record(i) for i in project.image_ids]
        return {str(r.get("source")) for r in recs if r.get("done") and r.get("source")}

    def _show(self) -> None:
        q = self.queue
        self._table.value = {
            "rank": [int(v) for v in q["rank"]],
            "name": [str(v) for v in q["name"]],
            "score": [round(float(v), 3) for v in q["score"]],
            "typical": [round(float(v), 2) for v in q.get("density", [1.0] * len(q))],
            "done": ["yes" if v else "" for v in q["done"]],
        }
        self._table.native.resizeColumnsToContents()

    @property
    def table_rows(self) -> list[list[Any]]:
        """What the queue table shows, row by row."""
        return [list(row) for row in self._table.data]

    @property
    def next_path(self) -> str | None:
        """The highest-ranked image not done yet."""
        todo = self.queue[~self.queue["done"].astype(bool)]
        return None if todo.empty else str(todo.iloc[0]["path"])

    def open_next(self) -> Any:
        """Open the next image of the queue with the detector's boxes as proposals."""
        path = self.next_path
        if path is None:
            show_info("The queue is empty: rank a folder first, or everything is done.")
            return None
        from ..core.detect import detect, load_detector
        from ..core.imageio import read_micrograph

        model = _active_detector_path(self._owner)

        def make() -> Generator[Progress, None, tuple]:
            yield Progress(0, 2, f"opening {Path(path).name}")
            mf = read_micrograph(path)
            detector = load_detector(model)
            df = yield from detect(mf.data, detector, pixel_size=mf.pixel_size)
            version = f"model:{Path(detector.path).parent.name}/{Path(detector.path).name}"
            return path, mf, df, version

        return self._owner._start(make, self._opened, "Open next")

    def _opened(self, result: tuple) -> None:
        path, mf, df, version = result
        owner = self._owner
        project = owner.project
        if project is None:
            return
        kw = image_layer_kwargs(mf.pixel_size, Path(path).name)
        image_id = project.find_image(path)
        if image_id is None:
            layer = owner.viewer.add_image(mf.data, **kw)
            image_id = project.add_image(
                mf.data, Path(path).name, pixel_size=mf.pixel_size, source=path
            )
            boxes = [
                {
                    "x1": r.x1,
                    "y1": r.y1,
                    "x2": r.x2,
                    "y2": r.y2,
                    "class_id": int(r.class_id),
                    "confidence": float(r.confidence),
                }
                for r in df.itertuples()
            ]
            project.save_labels(image_id, boxes=boxes, source=version)
            layer.metadata = {**layer.metadata, "curate_image": image_id}
        owner._refresh_images(image_id)
        owner.open_image(image_id)

    def mark_done(self, source: str | None) -> None:
        if source and not self.queue.empty:
            self.queue.loc[self.queue["path"] == str(source), "done"] = True
            self._show()


class TrainPanel(Container):
    """Retrain the detector (or a segmentation model) on the project; accept or reject it."""

    def __init__(self, owner: CurateWidget) -> None:
        self._owner = owner
        self._task = ComboBox(label="retrain", choices=["detect", "segment"], value="detect")
        self._epochs = SpinBox(label="epochs", min=1, max=1000, value=20)
        self._imgsz = SpinBox(label="image size", min=64, max=4096, step=32, value=640)
        self._device = LineEdit(label="device", value="")
        self._device.tooltip = "empty = automatic; 'cpu', '0', or '0,1' for several GPUs"
        self._train = PushButton(text="Retrain")
        self._metrics = Label(value="")
        self._accept = PushButton(text="Accept", enabled=False)
        self._reject = PushButton(text="Reject", enabled=False)
        buttons = Container(
            widgets=[self._accept, self._reject], layout="horizontal", labels=False
        )
        super().__init__(
            widgets=[
                self._task,
                self._epochs,
                self._imgsz,
                self._device,
                self._train,
                self._metrics,
                buttons,
            ],
            labels=True,
        )
        self._job: Any = None
        self.candidate: str | None = None
        self.history: list[dict[str, float]] = []
        self._train.changed.connect(lambda: self.train())
        self._accept.changed.connect(self.accept)
        self._reject.changed.connect(self.reject)

    @property
    def training(self) -> bool:
        return self._job is not None and self._owner.busy

    @property
    def metrics_text(self) -> str:
        return str(self._metrics.value)

    def refresh(self) -> None:
        project = self._owner.project
        active = project.active_model if project else None
        self._metrics.value = f"active model: {active['version']}" if active else "no model yet"

    def train(
        self,
        task: str | None = None,
        epochs: int | None = None,
        imgsz: int | None = None,
        device: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Export the project and fine-tune in the background; returns the worker."""
        from ..core.curate.export import export_project
        from ..core.curate.train import TrainJob, preload_torch
        from ..core.detect import DEMO_MODEL

        project = self._owner.project
        if project is None:
            show_error("Open a project first.")
            return None
        task = task or self._task.value
        preload_torch()
        self._owner.flush()
        active = project.active_for(task)
        base: Path | None = None
        if active:  # fine-tune the model in use for this task
            base = project.model_path(active["version"])
        elif task == "detect" and DEMO_MODEL.is_file():
            base = DEMO_MODEL  # a first segmentation model starts from YOLOv8n-seg's layout
        sizes = [project.image_record(i).get("pixel_size") for i in project.image_ids]
        sizes = [s for s in sizes if s]
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = project.root / "runs" / stamp
        fmt = "yolo" if task == "detect" else "yolo-seg"
        settings = {
            "epochs": int(epochs or self._epochs.value),
            "imgsz": int(imgsz or self._imgsz.value),
            "device": device if device is not None else (self._device.value or None),
            "pixel_size": float(np.median(sizes)) if sizes else None,
            **kwargs,
        }

        if not any(project.image_record(i).get("done") for i in project.image_ids):
            show_error("Mark the corrected images done first: retraining uses those only.")
            return None

        def make() -> Generator[Progress, None, Any]:
            # only images marked done: proposals not yet checked must not teach the model
            files = yield from export_project(project, out / "data", [fmt], only_done=True)
            data = Path(next(f for f in files[fmt] if f.endswith("data.yaml")))
            self._job = TrainJob(data, out, task=task, base=base, **settings)
            return (yield from self._job.run())

        self.candidate = None
        self._accept.enabled = self._reject.enabled = False
        return self._owner._start(make, lambda r: self._trained(r, base), "Retraining")

    def on_progress(self, item: Any) -> None:
        """Show the live metrics of the epoch just finished."""
        if isinstance(item, Progress) and item.message.startswith(("epoch", "held-out")):
            self._metrics.value = item.message

    def _trained(self, result: Any, base: Path | None) -> None:
        self._job = None
        self.history = list(result.history)
        project = self._owner.project
        if result.cancelled or result.weights is None or project is None:
            self._metrics.value = f"training cancelled after {result.epochs_done} epoch(s)"
            return
        self.candidate = project.add_model(
            result.weights,
            result.task,
            result.metrics,
            parent=str(base) if base else None,
            data=str(result.data),
            history=result.history,
        )
        m = result.metrics
        self._metrics.value = (
            f"{self.candidate}: held-out mAP50 {m.get('map50', float('nan')):.3f}, "
            f"mAP50-95 {m.get('map50_95', float('nan')):.3f} — accept?"
        )
        self._accept.enabled = self._reject.enabled = True

    def cancel(self) -> bool:
        """Stop a running training at its next batch; False when none runs."""
        if self._job is None or not self._owner.busy:
            return False
        self._job.cancel()
        show_info("Stopping the training after the current batch…")
        return True

    def accept(self) -> None:
        """Make the candidate the active model (the Detect dock then uses a new detector)."""
        project = self._owner.project
        if project is None or not self.candidate:
            return
        project.accept_model(self.candidate)
        m = project.active_model or {}
        if m.get("task") == "detect":
            saved = get_setting("pipeline.detect") or {}
            set_setting(
                "pipeline.detect", {**saved, "model": str(project.model_path(m["version"]))}
            )
        self._metrics.value = f"active model: {self.candidate}"
        self.candidate = None
        self._accept.enabled = self._reject.enabled = False

    def reject(self) -> None:
        """Discard the candidate; the active model stays."""
        project = self._owner.project
        if project is None or not self.candidate:
            return
        project.reject_model(self.candidate)
        self.candidate = None
        self._accept.enabled = self._reject.enabled = False
        self.refresh()
