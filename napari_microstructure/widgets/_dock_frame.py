"""The frame of a dock widget: its scroll area's width, and its closing (by napari or with the
viewer's window)."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import QEvent, QObject
from qtpy.QtWidgets import QMainWindow

if TYPE_CHECKING:
    from ._base import WorkerWidget


class FitWidth(QObject):
    """Keeps a vertical scroll area as wide as its controls need: they never scroll sideways
    or get cut off, whatever is added or shown after the dock was built."""

    def __init__(self, scroll: Any) -> None:
        super().__init__(scroll)
        self._scroll = scroll

    def eventFilter(self, obj: Any, event: Any) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.LayoutRequest:
            bar = self._scroll.verticalScrollBar().sizeHint().width()
            self._scroll.setMinimumWidth(obj.minimumSizeHint().width() + bar + 2)
        return False


class Lifetime(QObject):
    """Closes a dock widget when napari takes it out of its dock (napari only re-parents and
    deletes it, it never calls ``close``), and tells it when the viewer's window closes.

    It watches the widget and, as it is docked, every widget above it (the dock, the main
    window): Qt's own events, no private napari attribute.
    """

    def __init__(self, owner: WorkerWidget) -> None:
        super().__init__(owner.root_native_widget)
        self._owner = weakref.ref(owner)
        self._docked = False
        owner.root_native_widget.installEventFilter(self)

    def _watch_up(self, widget: Any) -> None:
        parent = widget.parentWidget()
        while parent is not None:
            parent.installEventFilter(self)  # Qt keeps one entry per filter and object
            parent = parent.parentWidget()

    def eventFilter(self, obj: Any, event: Any) -> bool:  # noqa: N802 - Qt's name
        owner = self._owner()
        if owner is None:
            return False
        kind = event.type()
        if kind == QEvent.Type.ParentChange:
            self._watch_up(obj)
            if obj is owner.root_native_widget:
                if obj.parent() is not None:
                    self._docked = True
                elif self._docked:  # taken out of its dock
                    self._docked = False
                    owner.close()
        elif kind == QEvent.Type.Close and isinstance(obj, QMainWindow):
            owner._on_window_close()
        return False
