"""The Curate dock's retraining panel: fine-tune on the corrected images, accept or reject."""

from __future__ import annotations

import time
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from magicgui.widgets import ComboBox, Container, LineEdit, PushButton, SpinBox
from napari.utils.notifications import show_error, show_info

from ..core.progress import Progress
from ..core.settings import get_setting, set_setting
from ._base import info_label
from .detect import SETTING as DETECT_SETTING

if TYPE_CHECKING:
    from .curate import CurateWidget


class TrainPanel(Container):
    """Retrain the detector (or a segmentation model) on the project; accept or reject it."""

    def __init__(self, owner: CurateWidget) -> None:
        self._owner = owner
        self._task = ComboBox(label="retrain", choices=["detect", "segment"], value="detect")
        self._epochs = SpinBox(label="epochs", min=1, max=1000, value=20)
        self._imgsz = SpinBox(label="image size (px)", min=64, max=4096, step=32, value=640)
        self._imgsz.tooltip = "Side in pixels the training images are scaled to (YOLO imgsz)"
        self._device = LineEdit(label="device", value="")
        self._device.tooltip = "empty = automatic; 'cpu', '0', or '0,1' for several GPUs"
        self._train = PushButton(text="Retrain")
        self._metrics = info_label()
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
        self._held_out = (0, 0)  # the training's held-out images and objects
        self._shown = False  # the run's end is on the line (else it shows the open project)
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

    def refresh(self, opened: bool = False) -> None:
        """Show the open project's active model, and its latest candidate waiting to be
        accepted or rejected (kept in the project from an earlier session or retrain).

        ``opened``: the project was just opened; when its folder was moved since its model was
        accepted, the Detect dock's model follows it (:func:`follow_moved_model`).
        """
        project = self._owner.project
        if opened and project is not None:
            follow_moved_model(project)
        active = project.active_model if project else None
        waiting = [m for m in (project.models if project else []) if m["status"] == "candidate"]
        self.candidate = waiting[-1]["version"] if waiting else None
        text = f"active model: {active['version']}" if active else "no model yet"
        if self.candidate:  # with its metrics, as the line showed them when it was trained
            scores = scores_text(waiting[-1].get("metrics") or {})
            text += f"; {self.candidate} waits" + (f" ({scores})" if scores else "") + ": accept?"
        self._metrics.value = text
        self._accept.enabled = self._reject.enabled = bool(self.candidate) and not self.training

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
        from ..core.curate.yolo import held_out

        project = self._owner.project
        if project is None:
            show_error("Open a project first.")
            return None
        if not any(project.image_record(i).get("done") for i in project.image_ids):
            show_error("Mark the corrected images done first: retraining uses those only.")
            return None
        task = task or self._task.value
        if not self._owner._flushed():  # told the user; the export would miss the edits
            return None
        base = project.start_model(task)  # the model in use for this task, else a start
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out = project.root / "runs" / stamp
        fmt = "yolo" if task == "detect" else "yolo-seg"
        settings = {
            "epochs": int(epochs or self._epochs.value),
            "imgsz": int(imgsz or self._imgsz.value),
            "device": device if device is not None else (self._device.value or None),
            **kwargs,
        }

        def make() -> Generator[Progress, None, Any]:
            # torch's compiler stack (imported by the training) takes seconds to import: here,
            # in the worker, not on the GUI thread
            preload_torch()
            # only images marked done: proposals not yet checked must not teach the model
            files = yield from export_project(project, out / "data", [fmt], only_done=True)
            data = Path(next(f for f in files[fmt] if f.endswith("data.yaml")))
            self._held_out = held_out(data)
            self._job = TrainJob(data, out, task=task, base=base, **settings)
            return (yield from self._job.run())

        # a waiting candidate stays one (a failed retrain changes nothing), but not while
        # another model is being trained; a run refused (the dock is busy) leaves them as
        # they are
        if not self._owner.busy:
            self._accept.enabled = self._reject.enabled = False
            self._shown = False
        return self._owner._start(
            make, lambda r: self._trained(r, base, project), "Retraining", after=self._ended
        )

    def _ended(self) -> None:
        """The training's worker finished, whatever the outcome: no job runs any more (a
        failed one would otherwise take every later Cancel of the dock). A run that put no
        result on the line (it failed, or its model went to another project) leaves the open
        project's state there, not its last epoch."""
        self._job = None
        if not self._shown:
            self.refresh()
        self._accept.enabled = self._reject.enabled = bool(self.candidate)

    def on_progress(self, item: Any) -> None:
        """Show the live metrics of the epoch just finished."""
        if isinstance(item, Progress) and item.message.startswith(("epoch", "validation")):
            note = self._note()
            message = item.message
            if message.startswith("validation"):  # say on what it was measured
                rest = message[len("validation") :]
                message = f"validation ({note}){rest}" if note else f"held-out validation{rest}"
            self._metrics.value = message

    def _note(self) -> str:
        from ..core.curate.yolo import held_out_note

        return held_out_note(*self._held_out)

    def _trained(self, result: Any, base: Path | None, trained_on: Any) -> None:
        self._job = None
        self.history = list(result.history)
        if result.cancelled or result.weights is None:
            text = f"training cancelled after {result.epochs_done} epoch(s)"
            waits = f"; {self.candidate} waits: accept?" if self.candidate else ""
            self._metrics.value, self._shown = text + waits, True
            if result.cancelled:  # the dock's status line said "Retraining: done"
                self._owner._status.value = "Retraining: cancelled"
            return
        images, objects = self._held_out
        metrics = {**result.metrics, "held_out_images": images, "held_out_objects": objects}
        project = self._owner.project
        same = project is not None and project.root.resolve() == trained_on.root.resolve()
        mine = project if same else None
        try:
            stored, version = _store(mine, trained_on.root, result, metrics, base)
        except (ValueError, OSError, KeyError) as exc:  # ProjectError is a ValueError
            why = f"the folder cannot be written ({exc})" if isinstance(exc, OSError) else exc
            show_error(
                f"The retrained model could not be stored in {trained_on.root.name}: {why}. "
                f"Its weights are in {result.weights}"
            )
            self._owner._status.value = "Retraining: model not stored"
            return
        if not same:  # the model belongs to the project its data came from
            show_info(
                f"The retrained model was stored in {stored.root.name} as {version}: "
                "open that project to accept or reject it."
            )
            return
        if stored is not project:  # another window or program saved the project meanwhile
            self._metrics.value = f"{version} stored: reopen the project to accept or reject it"
            self._shown = True
            show_info(
                f"The retrained model was stored as {version}, but the project was changed by "
                "another window or program during the training: reopen it to accept or reject "
                f"{version} (its weights are in {stored.model_path(version)})."
            )
            return
        self.candidate = version
        scores = scores_text(metrics) or "no metrics"
        self._metrics.value = f"{self.candidate}: {scores} — accept?"
        self._accept.enabled = self._reject.enabled = self._shown = True

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
        try:
            project.accept_model(self.candidate)
        except (ValueError, OSError, KeyError) as exc:  # ProjectError is a ValueError
            _refused(f"accept {self.candidate}", exc)
            return
        m = project.active_model or {}
        if m.get("task") == "detect":  # an open Detect dock follows it (widgets/detect.py)
            try:
                saved = get_setting(DETECT_SETTING, {})  # a mapping (a hand edit may not be)
                model = str(project.model_path(m["version"]))
                set_setting(DETECT_SETTING, {**saved, "model": model})
            except (ValueError, OSError, KeyError) as exc:
                show_error(
                    f"{self.candidate} is active, but the Detect dock keeps its model: {exc}"
                )
        self._metrics.value = f"active model: {self.candidate}"
        self.candidate = None
        self._accept.enabled = self._reject.enabled = False

    def reject(self) -> None:
        """Discard the candidate; the active model stays."""
        project = self._owner.project
        if project is None or not self.candidate:
            return
        try:
            project.reject_model(self.candidate)
        except (ValueError, OSError, KeyError) as exc:  # ProjectError is a ValueError
            _refused(f"reject {self.candidate}", exc)
            return
        self.candidate = None
        self._accept.enabled = self._reject.enabled = False
        self.refresh()


def follow_moved_model(project: Any) -> Path | None:
    """Point the Detect dock's remembered model at ``project``'s active detector when the
    remembered file is gone and was a version of this project in a folder that holds the
    project no more (moved or renamed); the new path, else None (nothing changed)."""
    from ..core.curate.project import MANIFEST

    saved = get_setting(DETECT_SETTING, {})  # a mapping (a hand edit may not be)
    active = project.active_for("detect")
    if not saved.get("model") or active is None:
        return None
    old = Path(str(saved["model"]))
    versions = {m["version"] for m in project.models}
    parts = old.parts[-3:]
    if len(parts) < 3 or parts[0] != "models" or parts[1] not in versions:
        return None
    if parts[2] != "weights.pt" or old.is_file() or (old.parents[2] / MANIFEST).is_file():
        return None
    new = project.model_path(active["version"])
    if not new.is_file():
        return None
    set_setting(DETECT_SETTING, {**saved, "model": str(new)})
    show_info(
        f"The project was moved: the Detect dock now uses its active model {active['version']} "
        f"({new}; it remembered {old}, now gone)"
    )
    return new


def scores_text(metrics: dict[str, Any]) -> str:
    """A model's validation metrics in words: held-out mAPs, or on what they were measured
    when not on held-out objects (``held_out_images`` / ``held_out_objects``); "" when it
    has none (a registered model)."""
    from ..core.curate.yolo import held_out_note

    if "map50" not in metrics and "map50_95" not in metrics:
        return ""
    scores = (
        f"mAP50 {metrics.get('map50', float('nan')):.3f}, "
        f"mAP50-95 {metrics.get('map50_95', float('nan')):.3f}"
    )
    if "held_out_images" not in metrics:  # trained on another dataset layout: unknown
        return scores
    images = int(metrics["held_out_images"])
    note = held_out_note(images, int(metrics.get("held_out_objects", 0)))
    if not note:
        return f"held-out {scores}"
    if images:  # an mAP without objects to find means nothing
        return f"{note}: no mAP measured"
    return f"{scores} ({note})"


def _store(
    project: Any, root: Path, result: Any, metrics: dict[str, Any], base: Path | None
) -> tuple[Any, str]:
    """Store a trained model as a candidate: through ``project`` (the dock's object), or a
    fresh object of ``root`` when there is none or it is out of date (another window or
    program saved since); the object that stored it and the version."""
    from ..core.curate import Project
    from ..core.curate.project import StaleProjectError

    def add(p: Any) -> str:
        return str(p.add_trained(result, metrics, base))

    if project is not None:
        try:
            return project, add(project)
        except StaleProjectError:
            pass  # read the project again: the model must not be lost
    fresh = Project.open(root)
    return fresh, add(fresh)


def _refused(what: str, exc: Exception) -> None:
    """Tell the user a project change failed (nothing was changed)."""
    if isinstance(exc, OSError):
        why: Any = f"the project folder cannot be written ({exc})"
    else:  # a KeyError's str() quotes its message
        why = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
    show_error(f"Cannot {what}: {why}")
