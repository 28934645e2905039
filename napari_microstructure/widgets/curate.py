"""Curate dock: annotation project with autosave, exports, active-learning queue, retraining."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from magicgui.widgets import ComboBox, Container, FileEdit, LineEdit, PushButton
from napari.layers import Image, Labels, Shapes
from napari.utils.notifications import show_error, show_info

from ..core.curate.project import Project, ProjectError, StaleProjectError
from ..core.settings import get_setting, set_setting
from ._autosave import Autosave
from ._base import WorkerWidget, info_label
from ._curate_add import add_layer
from ._curate_export import ExportPanel
from ._curate_layers import ImageLayers
from ._curate_open import open_image, open_later
from ._curate_panels import QueuePanel
from ._curate_reopen import followed_move, leave_unsaved, moved_away, saved_on_close
from ._curate_resume import resume, resume_left
from ._curate_train import TrainPanel

if TYPE_CHECKING:
    import napari

SETTING = "curate.project"


class CurateWidget(WorkerWidget):
    """Annotate images in a project folder; every edit is saved within seconds."""

    def __init__(self, viewer: napari.viewer.Viewer, autosave_ms: int = 1500) -> None:
        super().__init__(viewer)
        self._autosave_ms = int(autosave_ms)
        self._project: Project | None = None
        self._autosave: Autosave | None = None
        self._layers = ImageLayers(self._viewer)
        self._opening: tuple[object, str] | None = None  # (token, image id) read in a worker
        self._adding: str | None = None  # the image Add writes in a worker
        self._folder = FileEdit(label="project folder", mode="d", value=get_setting(SETTING, ""))
        self._classes = LineEdit(label="classes", value="object")
        self._classes.tooltip = (
            "a new project's classes; on the open project, edit and press Open / create "
            "project again to rename classes in place or add some at the end"
        )
        self._open = PushButton(text="Open / create project")
        self._image = self._layer_combo(Image, "image")
        self._instances_from = self._layer_combo(Labels, "instances from", nullable=True)
        self._phases_from = self._layer_combo(Labels, "phases from", nullable=True)
        self._boxes_from = self._layer_combo(Shapes, "boxes from", nullable=True)
        self._add = PushButton(text="Add image to project")
        self._images = ComboBox(label="project images", choices=self._image_choices)
        self._show = PushButton(text="Open")
        self._done = PushButton(text="Mark done")
        self._saved = info_label("no project open")
        self.export_panel = ExportPanel(self)
        self.queue_panel = QueuePanel(self)
        self.train_panel = TrainPanel(self)
        self._open.changed.connect(lambda: self.open_project(self._folder.value))
        self._add.changed.connect(lambda: self.add_image(wait=False))
        self._show.changed.connect(lambda: self.open_image(self._images.value, wait=False))
        self._done.changed.connect(self._on_done)
        rows = [Container(widgets=[self._show, self._done], layout="horizontal", labels=False)]
        self.extend(
            [
                self._folder,
                self._classes,
                self._open,
                self._image,
                self._instances_from,
                self._phases_from,
                self._boxes_from,
                self._add,
                self._images,
                *rows,
                self._saved,
                self.export_panel,
                self.queue_panel,
                self.train_panel,
                self._progress_row,
            ]
        )

    # -- public state --------------------------------------------------------------------------
    @property
    def project(self) -> Project | None:
        return self._project

    @property
    def current_image_id(self) -> str | None:
        return self._autosave.image_id if self._autosave else None

    @property
    def saved_rev(self) -> int:
        """Revision of the current image's labels last written to disk."""
        return self._autosave.saved_rev if self._autosave else 0

    @property
    def opening(self) -> str | None:
        """The image whose saved labels a worker reads to open it, if any."""
        return self._opening[1] if self._opening else None

    @property
    def unsaved(self) -> bool:
        return bool(self._autosave and self._autosave.dirty)

    def layers_of(self, image_id: str) -> dict[str, Any]:
        """The viewer's curation layers of a project image, by role."""
        if self._project is None:
            return {}
        return self._layers.by_role(self._project.root, image_id)

    # -- project -------------------------------------------------------------------------------
    def open_project(self, folder: str | Path) -> Project | None:
        """Open the project in ``folder`` (created, with the typed classes, when there is none)."""
        folder = Path(str(folder)).expanduser()
        if not str(folder) or str(folder) == ".":
            show_error("Choose a project folder first.")
            return None
        same = self._same_root(folder)
        classes = [c.strip() for c in str(self._classes.value).split(",") if c.strip()]
        # the field applies only where the user edited it: what it showed may be stale
        edited = same and bool(classes) and classes != self._require().classes
        moved = moved_away(self)  # the open image's project folder was moved or renamed
        if moved:
            project = followed_move(self, folder)
            same, edited = isinstance(project, Project), False
        else:
            project = self._saved_before_open(folder, same, classes if edited else None)
        if project is False:
            return None
        previous = self.current_image_id
        reopened = previous if same else None
        if moved and not same:  # it cannot be saved: its layers stay, the user is told
            leave_unsaved(self)
        # saved and stopped before the project is read: a later save would delete the
        # revision read (only one Project object of the dock may write)
        kept = self._autosave.project if self._autosave else None
        self._stop_autosave()
        self._opening = None  # an image's labels read meanwhile are not shown
        try:
            project = project or Project.open_or_create(folder, classes=classes or ["object"])
            if edited and classes != project.classes:
                project.set_classes(classes)  # renamed in place or added at the end
        except (ProjectError, OSError) as exc:
            show_error(f"Cannot open the project: {exc}")
            if kept is not None and previous is not None:
                resume(self, kept, previous)  # the open image stays open and autosaved
            return None
        if previous is not None and not (same or moved):  # it would be autosaved no more
            self._close_layers(previous)
        self._project = project
        set_setting(SETTING, str(folder))
        self._folder.value = folder
        self._classes.value = ", ".join(self._project.classes)
        self._refresh_images()
        self._saved.value = f"project: {len(self._project.image_ids)} images"
        self.train_panel.refresh(opened=True)
        if reopened in project.image_ids:
            self.open_image(reopened)  # keep autosaving the image on screen
        elif self._autosave is None:
            resume_left(self, project)  # layers a closed Curate dock left in the viewer
        return self._project

    def _saved_before_open(
        self, folder: Path, same: bool, classes: list[str] | None = None
    ) -> Project | None | bool:
        """Save the open image before (re)opening a project: a newer object of the project
        when another window saved it since (the edits are then saved through that), None when
        saved as usual, False when they cannot be saved (the user is told).

        The edited ``classes`` of the same project are applied first: a box may already carry
        a class the user is adding.
        """
        if not same or self._autosave is None:
            return None if self._flushed() else False
        try:
            if classes is not None:
                self._autosave.project.set_classes(classes)
        except StaleProjectError:
            pass  # applied to the newer object below
        except (ValueError, OSError) as exc:
            show_error(f"Cannot change the classes: {exc}")
            return False
        try:
            self.flush()
            return None
        except StaleProjectError:
            pass
        except (ValueError, OSError) as exc:
            show_error(f"Cannot save the open image (the last saved version is intact): {exc}")
            return False
        try:
            newer = Project.open(folder)
            if classes is not None and classes != newer.classes:
                newer.set_classes(classes)
            self._autosave.rebase(newer)
        except (ValueError, OSError) as exc:
            show_error(f"Cannot save the open image (the last saved version is intact): {exc}")
            return False
        show_info("The project was saved by another window: reopened, with your edits saved")
        return newer

    def _same_root(self, folder: Path) -> bool:
        if self._project is None:
            return False
        return self._project.root.resolve() == folder.resolve()

    def _image_choices(self, _widget: Any = None) -> list[str]:
        return self._project.image_ids if self._project else []

    def _refresh_images(self, select: str | None = None) -> None:
        self._images.reset_choices()
        if select in self._image_choices():
            self._images.value = select

    def _require(self) -> Project:
        if self._project is None:
            raise ProjectError("open or create a project first")
        return self._project

    # -- images --------------------------------------------------------------------------------
    def add_image(self, layer: Image | None = None, wait: bool = True) -> str | None:
        """Add an image layer (and the chosen instances / boxes layers) to the project; without
        ``wait`` (the Add button) written in a worker thread (None returned)."""
        chosen = layer if layer is not None else self._image.value
        return add_layer(self, chosen, show_error, show_info, wait)

    def open_image(
        self, image_id: str | None, image_layer: Image | None = None, wait: bool = True
    ) -> Any:
        """Show a project image with its label and box layers, and autosave their edits.

        Without ``wait`` (the Open button) its saved labels are read in a worker thread, which
        is returned (None when refused, told): see :mod:`._curate_open`.
        """
        if wait:
            return open_image(self, image_id, image_layer)
        return open_later(self, image_id, image_layer)

    def _watch(
        self, project: Project, image_id: str, layers: dict, saved: Any = None, known: Any = None
    ) -> Any:
        """Autosave ``layers`` by role ("image": its pixel size); ``saved``, ``known``: see
        Autosave."""
        self._autosave = Autosave(
            project,
            image_id,
            layers,
            self._autosave_ms,
            on_saved=self._show_saved,
            on_failed=self._show_not_saved,
            saved=saved,
            known=known,
        )
        self._refresh_images(image_id)
        self._show_saved(self._autosave.saved_rev)
        return self._autosave

    def _close_layers(self, image_id: str) -> None:
        """Take a saved image's layers out of the viewer: only the open image is autosaved, so
        edits to another image's layers would be lost."""
        if self._project is not None:
            self._layers.close(self._project.root, image_id)

    def _show_saved(self, rev: int) -> None:
        stamp = time.strftime("%H:%M:%S")
        self._saved.value = f"{self.current_image_id}: saved (revision {rev}) at {stamp}"

    def _show_not_saved(self, why: str) -> None:
        stamp, refused = time.strftime("%H:%M:%S"), self._autosave and self._autosave.refused
        later = "" if refused else " and are written at the next edit or when the image is closed"
        self._saved.value = (  # (a refusal says itself what would write them)
            f"{self.current_image_id}: NOT saved at {stamp} ({why}); the edits stay in the "
            f"viewer{later}"
        )

    def _on_done(self) -> None:
        self.mark_done(self._images.value)

    def mark_done(self, image_id: str | None) -> None:
        """Mark a project image (and its queue entry) done."""
        if self._project is None or not image_id or not self._flushed():
            return
        try:
            self._project.set_done(image_id, True, follow=True)  # (over other images' saves)
        except (ValueError, OSError, KeyError) as exc:  # ProjectError is a ValueError
            show_error(f"Cannot mark {image_id} done: {exc}")
            return
        self.queue_panel.mark_done(self._project.image_record(image_id).get("source"))
        show_info(f"{image_id} marked done")

    def flush(self) -> int:
        """Write unsaved edits now; returns the current image's saved revision."""
        return self._autosave.flush() if self._autosave else 0

    def _flushed(self) -> bool:
        """Flush, telling the user (not raising) when the edits cannot be saved."""
        try:
            self.flush()
        except (ValueError, OSError) as exc:  # ProjectError is a ValueError
            show_error(f"Cannot save the open image (the last saved version is intact): {exc}")
            return False
        return True

    def _stop_autosave(self) -> bool:
        """Save pending edits and stop autosaving; a refused save is told (False), not raised."""
        if self._autosave is None:
            return True
        autosave, self._autosave = self._autosave, None
        try:
            autosave.stop()
        except (ValueError, OSError) as exc:  # ProjectError is a ValueError
            show_error(
                f"Cannot save {autosave.image_id}: its last edits stay in the viewer's layers"
                f" only (the last saved version is intact): {exc}"
            )
            return False
        return True

    # -- export --------------------------------------------------------------------------------
    def export(self, out: str | Path | None = None, formats: list[str] | None = None) -> Any:
        """Export the project in the background (``out/<format>``); returns the worker."""
        return self.export_panel.export(out, formats)

    @property
    def last_export(self) -> dict[str, list[str]] | None:
        return self.export_panel.last_export

    # -- progress, cancel and close ------------------------------------------------------------
    def _on_yielded(self, item: Any) -> None:
        super()._on_yielded(item)
        self.train_panel.on_progress(item)

    def _on_cancel(self) -> None:
        if self.train_panel.cancel():
            return  # the training stops at its next batch and returns normally
        super()._on_cancel()

    def _on_window_close(self) -> None:
        saved_on_close(self)

    def close(self) -> None:  # noqa: D102 - saves pending edits first
        self._stop_autosave()
        super().close()
