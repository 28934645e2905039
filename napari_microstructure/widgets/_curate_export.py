"""The Curate dock's export panel: the project as YOLO, YOLO-seg, COCO or label TIFFs."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from magicgui.widgets import ComboBox, Container, FileEdit, PushButton
from napari.utils.notifications import show_error, show_info

from ..core.curate.export import EXPORTERS, ExportResult, export_project
from ..core.curate.project import ProjectError
from ..core.progress import Progress

if TYPE_CHECKING:
    from .curate import CurateWidget


class ExportPanel(Container):
    """Choose a format and a folder; the export runs in the dock's worker."""

    def __init__(self, owner: CurateWidget) -> None:
        self._owner = owner
        self._format = ComboBox(label="export format", choices=sorted(EXPORTERS), value="yolo")
        self._out = FileEdit(label="export to", mode="d")
        self._export = PushButton(text="Export")
        self._export.changed.connect(lambda: self.export())
        self.last_export: dict[str, list[str]] | None = None
        super().__init__(widgets=[self._format, self._out, self._export], labels=True)
        self.margins = (0, 0, 0, 0)

    def export(self, out: str | Path | None = None, formats: list[str] | None = None) -> Any:
        """Export the project in the background (``out/<format>``); returns the worker."""
        owner = self._owner
        try:
            project = owner._require()
        except ProjectError as exc:
            show_error(str(exc))
            return None
        out = Path(str(out or self._out.value))
        if not str(out) or str(out) == ".":
            out = project.root / "exports"
        fmts = list(formats or [self._format.value])
        if not owner._flushed():
            return None

        def make() -> Generator[Progress, None, dict]:
            return (yield from export_project(project, out, fmts))

        return owner._start(make, self._exported, "Export")

    def _exported(self, result: ExportResult) -> None:
        n = sum(len(v) for v in result.values())
        self.last_export = result
        left = result.left_out_text()
        show_info(f"Exported {n} files ({', '.join(result)})" + (f"; {left}" if left else ""))
