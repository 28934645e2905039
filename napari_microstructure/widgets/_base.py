"""Shared behaviour of the dock widgets: layer choice, background work, progress and Cancel."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Generator
from functools import partial
from typing import TYPE_CHECKING, Any

from magicgui.widgets import Container, Label, ProgressBar, PushButton
from napari.qt.threading import GeneratorWorker
from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtWidgets import QSizePolicy

from .._layers import layer_role
from .._layers.plane import plane_hidden
from ..core.progress import Progress
from ._dock_frame import FitWidth, Lifetime
from ._layer_box import LayerBox
from ._worker import Tied, reported, take_back

if TYPE_CHECKING:
    import napari

log = logging.getLogger(__name__)


def info_label(value: str = "") -> Label:
    """A label for messages of any length (status, model and result summaries): it wraps
    instead of widening the dock."""
    label = Label(value=value)
    label.native.setWordWrap(True)
    # take the row's whole width (left-aligned text), not a centred block of its own width
    label.native.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    return label


def prefer_role(role: str, last: tuple[str, ...] = ()) -> Callable[[Any], int]:
    """A layer box's ``rank``: layers of this role first (0), then layers the plugin did not
    make (1, e.g. a label image loaded from a file), then the plugin's other layers (2), and
    those of the roles ``last`` after them all (3, e.g. scribbles for grains)."""
    ranks = {role: 0, None: 1, **dict.fromkeys(last, 3)}
    return lambda layer: ranks.get(layer_role(layer), 2)


def real_viewer(viewer: Any) -> Any:
    """The viewer itself, where napari handed the dock a proxy of it.

    napari gives a plugin's dock a ``PublicOnlyProxy`` of the viewer; a layer made through it is
    a proxy as well, while napari's mouse and key callbacks and its events pass the layer
    itself, so ``layer is made`` would never hold. The docks keep the viewer itself.
    """
    return getattr(viewer, "__wrapped__", viewer)


class WorkerWidget(Container):
    """Base dock widget that runs core generators in a worker thread.

    Subclasses build their controls, then add ``self._progress_row`` where the progress bar and
    the Cancel button should sit, and call :meth:`_start` with a core generator.
    """

    def __init__(self, viewer: napari.viewer.Viewer, **kwargs: Any) -> None:
        super().__init__(scrollable=True, **kwargs)
        inner = self.root_native_widget.widget()
        # controls keep their height and stack from the top; what is left of a tall dock is
        # empty space below them (added first: magicgui inserts every control before it)
        inner.layout().addStretch()
        self._fit_width = FitWidth(self.root_native_widget)
        inner.installEventFilter(self._fit_width)
        self._viewer = real_viewer(viewer)
        self._lifetime = Lifetime(self)
        self._worker: GeneratorWorker | None = None
        self._running = False
        self._gone = False  # Qt deleted the controls (the viewer's window was closed)
        self._closed = False  # the dock was closed (:meth:`close`)
        self._hidden_told = ""  # the last "plane not on screen" warning (:meth:`_plane_on_screen`)
        # (a partial, not a closure: a closure's cell is emptied when its frame is cleared,
        # and the signal then raised NameError at teardown)
        self.root_native_widget.destroyed.connect(partial(_on_destroyed, weakref.ref(self)))
        self._disconnects: list[Callable[[], Any]] = []
        self._progress = ProgressBar(value=0, min=0, max=100, visible=False, label="progress")
        self._status = info_label()
        self._cancel = PushButton(text="Cancel", enabled=False)
        self._cancel.changed.connect(self._on_cancel)
        self._progress_row = Container(
            widgets=[self._progress, self._cancel, self._status], labels=False
        )

    def _insert_widget(self, index: int, widget: Any) -> None:
        """Controls without a label (status text, plots, tables, rows of controls) span the
        dock's width instead of sitting in the value column beside an empty label."""
        super()._insert_widget(index, widget)
        if widget.label:
            return
        wrapper = widget._labeled_widget()
        if wrapper is not None:
            wrapper._label_widget.visible = False
        if isinstance(widget, Container):
            widget.margins = (0, 0, 0, 0)

    # -- layer choice --------------------------------------------------------------------------
    def _layer_combo(
        self,
        layer_type: type,
        label: str,
        nullable: bool = False,
        rank: Callable[[Any], int] | None = None,
    ) -> LayerBox:
        """A box of the viewer's layers of ``layer_type`` that follows layer changes; ``rank``
        orders them (see :class:`.LayerBox` for which new layer replaces the one shown)."""
        box = LayerBox(self._viewer, layer_type, label, nullable=nullable, rank=rank)
        self._disconnects.append(box.stop_following)
        return box

    def close(self) -> None:  # noqa: D102 - also drops the viewer event connections
        self._disconnect_viewer()
        if self.busy:
            self.cancel()
        self._closed = True  # a result already on its way is not handled by a closed dock
        super().close()

    def _on_window_close(self) -> None:
        """The viewer's window is closing (the user may still cancel it): save what must be
        saved, without closing the dock."""

    # -- public state ---------------------------------------------------------------------
    @property
    def native(self) -> Any:
        """The scroll area around the controls, which napari puts in the dock: a dock taller
        than the screen (Curate, Classify, Measure on a 1080-pixel screen) scrolls instead of
        making the window taller than the screen."""
        return self.root_native_widget

    @property
    def viewer(self) -> napari.viewer.Viewer:
        return self._viewer

    @property
    def worker(self) -> GeneratorWorker | None:
        """The running (or last) worker; tests wait on its ``finished`` signal."""
        return self._worker

    @property
    def busy(self) -> bool:
        # True from _start until the result (or error, or cancel) has been handled, including
        # the moment before the thread has started.
        return self._running

    @property
    def status(self) -> str:
        return str(self._status.value)

    # -- background work --------------------------------------------------------------------
    def _start(
        self,
        make_gen: Callable[[], Generator[Any, Any, Any]],
        on_done: Callable[[Any], None],
        what: str,
        after: Callable[[], None] | None = None,
    ) -> GeneratorWorker | None:
        """Run ``make_gen()`` off the GUI thread; ``on_done(result)`` runs on the GUI thread.

        ``after()`` runs on the GUI thread once the worker has finished, whatever the outcome
        (connected before the worker starts, so a run that ends at once cannot miss it).
        """
        if self._busy_told(what):
            return None

        ended: list[Any] = []  # the result, once the run got to its end
        # errors are shown to the user by _on_error, not also raised on the GUI thread; the
        # worker lets go of the run and these handlers once finished (napari keeps it)
        tied = Tied(_steps, make_gen, ended)
        worker = tied.worker
        # nothing reaches the controls once Qt has deleted them (viewer.close() during a run)
        tied.connect(worker.yielded, self._alive(lambda item: self._on_yielded(item)))
        tied.connect(
            worker.returned, self._alive(lambda result: self._finish(on_done, result, what))
        )
        tied.connect(worker.errored, self._alive(lambda exc: self._failed(exc, what)))
        tied.connect(worker.aborted, self._alive(lambda: self._cancelled(what)))
        unanswered = partial(self._unanswered, worker, ended, on_done, what)
        tied.connect(worker.finished, self._alive(unanswered))
        if after is not None:
            tied.connect(worker.finished, self._alive(after))
        self._worker = worker
        self._running = True
        self._progress.visible = True
        self._progress.value = 0
        self._cancel.enabled = True
        self._status.value = f"{what}…"
        return tied.start()

    def _busy_told(self, what: str) -> bool:
        """True, the user told, while a run goes on (a press that starts nothing)."""
        if self.busy:
            show_warning(f"{what}: still busy with the previous run; cancel it first.")
        return self.busy

    def _unanswered(
        self, worker: Any, ended: list[Any], on_done: Callable[[Any], None], what: str
    ) -> None:
        """A run that finished with neither result nor cancel handled: Cancel came during its
        last step, after which superqt emits neither. A run that got to its end is shown as
        done (its work is done: a model saved); else it is cancelled."""
        if self._worker is not worker or not self._running:
            return
        if ended:
            show_info(f"{what}: Cancel came after the last step; the result is shown.")
            self._finish(on_done, ended[0], what)
        else:
            self._cancelled(what)

    def _alive(self, handler: Callable[..., Any]) -> Callable[..., None]:
        """``handler`` that does nothing once the dock's controls are deleted."""

        def call(*args: Any) -> None:
            if not self._gone and not self._closed:  # (a result queued before closing)
                handler(*args)

        return call

    def _input_closed(self, layer: Any, what: str) -> bool:
        """True (and the user told) when ``layer`` left the viewer while ``what`` ran on it:
        its result has nowhere to go and is not shown."""
        if any(lay is layer for lay in self._viewer.layers):
            return False
        show_info(f"{what}: {layer.name} was closed during the run; its result is not shown.")
        self._status.value = f"{what}: its image was closed"
        return True

    def _plane_on_screen(self, layer: Any, what: str, quiet: bool = False) -> bool:
        """False (the user warned) when stack ``layer`` shows other axes than its rows and
        columns (:func:`.plane_hidden`): the plane worked on is not the one seen. ``quiet``
        (live work): warned once, until a plane is on screen again."""
        hidden = plane_hidden(layer) if layer is not None else ""
        if hidden and not (quiet and hidden == self._hidden_told):
            show_warning(f"{what}: {hidden}")
        if hidden and not self.busy:
            self._status.value = f"{what}: not done, no rows x columns plane on screen"
        self._hidden_told = hidden
        return not hidden

    def _on_yielded(self, item: Any) -> None:
        if isinstance(item, Progress):
            self._progress.value = int(round(100 * item.fraction))
            if item.message:
                self._status.value = item.message

    def _finish(self, on_done: Callable[[Any], None], result: Any, what: str) -> None:
        self._set_idle(f"{what}: done")
        try:
            on_done(result)
        except Exception as exc:  # noqa: BLE001 - shown to the user, logged with traceback
            self._on_error(exc, what)
        self._job_ended()

    def _failed(self, exc: BaseException, what: str) -> None:
        self._on_error(exc, what)
        self._job_ended()

    def _cancelled(self, what: str) -> None:
        self._set_idle(f"{what}: cancelled")
        self._job_ended()

    def _job_ended(self) -> None:
        if not self.busy:  # (the result's handler may have started another run)
            self._on_idle()

    def _on_idle(self) -> None:
        """A run ended and its result, error or cancel was handled; the dock is idle (a hook
        to start work that waited for it)."""

    def _on_error(self, exc: BaseException, what: str) -> None:
        log.debug("%s failed", what, exc_info=exc)
        self._set_idle(f"{what}: failed")
        show_error(f"{what} failed: {exc}")

    def _set_idle(self, message: str) -> None:
        self._running = False
        self._cancel.enabled = False
        self._progress.visible = False
        self._status.value = message

    def _on_cancel(self) -> None:
        worker = self._worker
        if worker is not None and self._running:
            worker.quit()
            if take_back(worker):  # it was still waiting for a thread: it ends now
                worker.aborted.emit()
                worker.finished.emit()
                return
            if not self._gone:
                show_info("Cancelling…")

    def cancel(self) -> None:
        """Ask the running worker to stop at its next progress step."""
        self._on_cancel()

    def _controls_deleted(self) -> None:
        """Qt deleted the controls (napari deletes the window on ``viewer.close()``): stop the
        run, whose progress and result have nowhere to go, and the viewer's events."""
        self._gone = True  # (before the cancel: its handlers must not touch the controls)
        if self._running:
            # the dock's own cancel path: a Curate training stops its training thread there,
            # which the worker's quit alone leaves running up to the end of its epoch
            try:
                self._on_cancel()
            except RuntimeError:  # a control it touches is deleted already
                log.debug("cancel on closing the window failed", exc_info=True)
        self._running = False
        if self._worker is not None:
            self._worker.quit()
        self._disconnect_viewer()

    def _disconnect_viewer(self) -> None:
        for disconnect in self._disconnects:
            try:
                disconnect()
            except (TypeError, ValueError, RuntimeError):
                pass
        self._disconnects.clear()


def _steps(make_gen: Callable[[], Generator[Any, Any, Any]], ended: list[Any]) -> Generator:
    """The run of :meth:`WorkerWidget._start`: its result also put in ``ended``."""
    result = yield from reported(make_gen)
    ended.append(result)
    return result


def _on_destroyed(ref: weakref.ref, *_: Any) -> None:
    owner = ref()
    if owner is not None:
        owner._controls_deleted()
