"""Debounced autosave of a project image's annotation layers, written off the GUI thread.

Every layer edit (napari's paint, erase and fill on Labels; adding, moving or deleting Shapes)
restarts a short timer; when it fires, the layers' data are copied on the GUI thread (cheap) and
what changed since the last save (labels compared by their fingerprint, not a kept copy) is
written by a worker thread. One save runs at a time; an edit made during a save schedules
another one right after it. napari's Features table changes a box's class in place, with no
event: the boxes' classes are compared every :data:`POLL_MS` and a change counts as an edit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from napari.utils.notifications import show_error
from qtpy.QtCore import QTimer

from .._layers import displayed_plane, layer_pixel_size
from .._layers.curate import boxes_from_layer, labels_data
from ..core.curate.fingerprint import fingerprint
from ..core.curate.manifest import refuse_bad_ids
from ..core.curate.project import Project, StaleProjectError
from ._events import EventHooks
from ._worker import Tied, take_back

log = logging.getLogger(__name__)

LABEL_EVENTS = ("paint", "data", "labels_update", "set_data")  # set_data: undo, redo
SHAPE_EVENTS = ("data", "features")
IMAGE_EVENTS = ("scale",)  # the Pixel size dock: the project records the new pixel size
EVENTS = {"boxes": SHAPE_EVENTS, "image": IMAGE_EVENTS}
POLL_MS = 1000  # how often the boxes' classes are compared (edits without an event)
CLASS_COLUMNS = ("class_name", "class_id")


class Autosave:
    """Save the layers of one project image ``delay_ms`` after the last edit."""

    def __init__(
        self,
        project: Project,
        image_id: str,
        layers: dict[str, Any],
        delay_ms: int = 1500,
        on_saved: Callable[[int], None] | None = None,
        on_failed: Callable[[str], None] | None = None,
        saved: dict[str, Any] | None = None,
        known: dict[str, Any] | None = None,
    ) -> None:
        """``saved``: the snapshot on disk when the layers may differ from it (edits made while
        no dock autosaved them): the first save writes the difference. ``known``: the
        fingerprints of label roles whose layers show the saved labels, taken where they were
        read (off the GUI thread: a large plane's takes seconds)."""
        self.project = project
        self.image_id = image_id
        project.editing = image_id  # its commits follow no other that changed this image
        #: the classes the boxes layer was drawn with: its names mean these even after another
        #: window renamed a class (see :meth:`rebase`)
        self.drawn_classes = project.classes
        # role ("instances", "phases", "boxes", "image") -> layer
        self.layers = dict(layers)
        self._on_saved = on_saved
        self._on_failed = on_failed
        #: why the last save failed (None after a successful one): the edits are still unsaved
        self.error: str | None = None
        #: the last save was refused: another window saved this image (or the classes) since
        self.refused = False
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.setInterval(int(delay_ms))
        self._timer.timeout.connect(self.save_soon)
        self._saving = False
        self._pending = False
        self._run: Tied | None = None  # the write in flight, or waiting for a thread
        self._generation = 0  # raised by flush: a write queued before it is stale
        try:
            # what was saved, as remembered (:func:`_remember`)
            self._last: dict[str, Any] = self._shown(known) if saved is None else _remember(saved)
        except ValueError:  # e.g. a box of an unknown class: the first save tells the user
            self._last = {}
        self.saved_rev = int(project.image_record(image_id).get("rev", 0))
        self.saved_at: float | None = None
        self._hooks = EventHooks()
        self._classes_seen = self._box_classes()
        self._poll = QTimer()
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._poll_classes)
        if "boxes" in self.layers:
            self._poll.start()
        for role, layer in self.layers.items():
            self._hooks.connect(layer.events, EVENTS.get(role, LABEL_EVENTS), self._on_edit)

    # -- state ---------------------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        """True while an edit waits to be written (timer running or a save in flight, or a
        class changed in the Features table and not seen yet, or the last save failed)."""
        if self._timer.isActive() or self._saving or self._pending or self.error is not None:
            return True
        return self._box_classes() != self._classes_seen

    def _on_edit(self, _event: Any = None) -> None:
        self._timer.start()  # (re)start: debounce a stroke of paint events

    def _box_classes(self) -> list | None:
        """The boxes layer's class columns as they are now (None without boxes)."""
        layer = self.layers.get("boxes")
        if layer is None:
            return None
        feats = layer.features
        # as text: a missing value (NaN) equals itself
        return [feats[c].astype(str).tolist() for c in CLASS_COLUMNS if c in feats]

    def _poll_classes(self) -> None:
        now = self._box_classes()
        if now != self._classes_seen:
            self._classes_seen = now
            self._on_edit()

    def _snapshot(self, copy: bool = True, known: dict[str, Any] | None = None) -> dict[str, Any]:
        """The layers' values to save (labels copied); without ``copy`` as remembered
        (:func:`_remember`: labels by their fingerprint, read where they are, or taken from
        ``known``)."""
        snap: dict[str, Any] = {}
        for role, layer in self.layers.items():
            if not copy and known and role in known:
                snap[role] = known[role]
            elif role == "boxes":
                snap[role] = boxes_from_layer(layer, self.project.classes, self.drawn_classes)
            elif role == "image":
                snap[role] = layer_pixel_size(layer)
            else:
                refuse_bad_ids(layer.data, role)  # labels_data would wrap ids beyond the dtype
                snap[role] = labels_data(layer) if copy else displayed_plane(layer)
        return snap if copy else _remember(snap)

    def _shown(self, known: dict[str, Any] | None = None) -> dict[str, Any]:
        """The layers as remembered, nothing copied (``known``: see :class:`Autosave`)."""
        return self._snapshot(copy=False, known=known)

    def _changes(self, snap: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The roles of ``snap`` that differ from the last save, and ``snap`` as remembered."""
        now = _remember(snap)
        out = {role: snap[role] for role in snap if not _same(self._last.get(role), now[role])}
        return out, now

    # -- saving --------------------------------------------------------------------------------
    def save_soon(self) -> None:
        """Copy the layers now and write what changed in a worker thread."""
        if self._saving:
            self._pending = True
            return
        try:
            snap = self._snapshot()
        except ValueError as exc:  # label ids the project cannot store: nothing is written
            self._failed(exc)
            return
        self._classes_seen = self._box_classes()  # what this save holds
        changes, now = self._changes(snap)
        if not changes:
            if self.error is not None:  # an edit taken back: what is shown is what was saved
                self._saved(self.saved_rev)
            return
        self._saving = True
        # a failed write is told by _failed, not also raised on the GUI thread; the worker
        # lets go of the labels once finished (napari keeps it while the window is open)
        tied = Tied(self._write_current, self._generation, changes)
        tied.connect(tied.worker.returned, lambda rev: self._done(rev, now))
        tied.connect(tied.worker.errored, self._failed)
        self._run = tied
        tied.start()

    def _write_current(self, generation: int, changes: dict[str, Any]) -> int | None:
        """:meth:`_write` in the worker; None (nothing written) when :meth:`flush` wrote newer
        edits since the save of ``generation`` was asked for."""
        if generation != self._generation:
            return None
        return self._write(changes)

    def _write(self, changes: dict[str, Any]) -> int:
        """Write ``changes``; over another window's save when it left this image alone (it
        saved or added another image), else refused (StaleProjectError)."""
        changes = dict(changes)
        if "image" in changes:
            self.project.set_pixel_size(self.image_id, changes.pop("image"), follow=True)
        if not changes:
            return int(self.project.image_record(self.image_id).get("rev", self.saved_rev))
        return self.project.save_labels(self.image_id, follow=True, **changes)

    def _done(self, rev: int | None, saved: dict[str, Any]) -> None:
        self._saving = False
        if rev is None:  # stale (see flush): nothing was written
            return
        self._last = saved
        self._saved(rev)
        if self._pending:
            self._pending = False
            self.save_soon()

    def _saved(self, rev: int) -> None:
        self.saved_rev = int(rev)
        self.saved_at = time.time()
        self.error, self.refused = None, False
        if self._on_saved is not None:
            self._on_saved(self.saved_rev)

    def _failed(self, exc: BaseException) -> None:
        self._saving = False
        self._pending = False  # the next edit (or flush) writes everything not yet saved
        self.refused = isinstance(exc, StaleProjectError)
        why = _refused(self.image_id) if self.refused else str(exc) or type(exc).__name__
        told, self.error = self.error, why
        log.debug("autosave failed", exc_info=exc)
        if self.error != told:  # each edit tries again: the same failure is shown once
            show_error(f"Autosave failed (the last saved version is intact): {why}")
        if self._on_failed is not None:
            self._on_failed(self.error)

    def flush(self) -> int:
        """Write any unsaved edit now, on the calling thread; returns the saved revision."""
        self._timer.stop()
        self._generation += 1  # a write that has not begun must not write an older state
        if self._saving and self._run is not None and take_back(self._run.worker):
            self._saving = False  # it was still waiting for a thread: it never runs
            self._run.release()
        deadline = time.time() + 30
        while self._saving and time.time() < deadline:
            from qtpy.QtCore import QCoreApplication

            QCoreApplication.processEvents()
            time.sleep(0.01)
        snap = self._snapshot()
        self._classes_seen = self._box_classes()
        changes, now = self._changes(snap)
        if changes:
            rev = self._write(changes)
            self._last = now
            self._saved(rev)
        self.error, self.refused, self._pending = None, False, False  # all shown is on disk
        return self.saved_rev

    def rebase(self, project: Project) -> int:
        """Go on with a newer object of the same project (another window saved since this one
        read it) and write the edits this window has not saved yet through it; returns the
        saved revision. The roles this window edited replace the other window's version."""
        self._let_go()
        self.project, project.editing = project, self.image_id
        return self.flush()

    def _let_go(self) -> None:
        if self.project.editing == self.image_id:
            self.project.editing = None

    def stop(self) -> None:
        """Save what is pending and disconnect from the layers."""
        try:
            self.flush()
        finally:
            self._timer.stop()
            self._poll.stop()
            self._hooks.clear()
            self._let_go()


def _refused(image_id: str) -> str:
    """Why a save was refused (StaleProjectError), and what each way on does."""
    return (
        f"another window or program saved {image_id} (or the classes) after this window "
        "opened it, and the layers here do not show that version, so these edits were not "
        "saved. Open / create project (or closing this window) saves them over that version, "
        "replacing what it changed in the layers edited here; to keep that version instead, "
        f"undo these edits, then open {image_id} again to see it"
    )


def _remember(snap: dict[str, Any]) -> dict[str, Any]:
    """A snapshot as kept until the next save: label arrays by their fingerprint."""
    return {k: fingerprint(v) if isinstance(v, np.ndarray) else v for k, v in snap.items()}


def _same(old: Any, new: Any) -> bool:
    """Whether a remembered value is unchanged; a NaN (a box drawn by hand has no confidence)
    equals NaN, else every save would write the same boxes again."""
    if isinstance(new, dict):
        return (
            isinstance(old, dict)
            and old.keys() == new.keys()
            and all(_same(old[k], new[k]) for k in new)
        )
    if isinstance(new, list | tuple):
        return (
            isinstance(old, list | tuple)
            and len(old) == len(new)
            and all(_same(a, b) for a, b in zip(old, new, strict=True))
        )
    if isinstance(new, float) and isinstance(old, float) and np.isnan(new) and np.isnan(old):
        return True
    return bool(old == new)
