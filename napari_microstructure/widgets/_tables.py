"""Read-only result tables of the docks, showing the texts and numbers they are given.

The rows live in a Qt item model that the view asks for the cells it draws, so a table of
100 000 grains is shown at once: one widget item per cell (magicgui's ``Table``) held the GUI
for about 4 s there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from magicgui.widgets import Container
from qtpy.QtCore import QAbstractTableModel, QModelIndex, Qt
from qtpy.QtGui import QKeySequence
from qtpy.QtWidgets import QAbstractItemView, QApplication, QTableView

RESIZE_SAMPLE = 200  # column widths follow the texts of this many rows


class _Rows(QAbstractTableModel):
    """The table's rows as given; each cell shows ``str(value)``."""

    def __init__(self, columns: Sequence[str], parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[list[Any]] = []
        self.columns = list(columns)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt's
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and index.isValid():
            return str(self.rows[index.row()][index.column()])
        return None

    def headerData(  # noqa: N802 - Qt's name
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.columns[section] if section < len(self.columns) else None
        return str(section + 1)

    def replace(self, rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> None:
        self.beginResetModel()
        self.rows = [list(row) for row in rows]
        self.columns = list(columns)
        self.endResetModel()


class _View(QTableView):
    """The table's view; Ctrl+C copies the selected cells as tab-separated rows (a spreadsheet
    takes them as they are), as magicgui's table did."""

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        if event.matches(QKeySequence.StandardKey.Copy):
            QApplication.clipboard().setText(self.selected_text())
            event.accept()
            return
        super().keyPressEvent(event)

    def selected_text(self) -> str:
        cells = {(i.row(), i.column()) for i in self.selectionModel().selectedIndexes()}
        rows, cols = sorted({r for r, _ in cells}), sorted({c for _, c in cells})
        model = self.model()
        return "\n".join(
            "\t".join(str(model.data(model.index(r, c))) if (r, c) in cells else "" for c in cols)
            for r in rows
        )


class ResultsTable(Container):
    """A read-only table of ``columns`` that keeps a few rows visible in a crowded dock; its Qt
    view is :attr:`view`."""

    def __init__(
        self, columns: Sequence[str], row_numbers: bool = False, min_height: int = 140
    ) -> None:
        super().__init__(labels=False)
        self.view = _View()
        self._rows = _Rows(columns, self.view)
        self.view.setModel(self._rows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.verticalHeader().setVisible(row_numbers)
        self.view.horizontalHeader().setResizeContentsPrecision(RESIZE_SAMPLE)
        self.native.layout().addWidget(self.view)
        self.min_height = min_height

    @property
    def column_headers(self) -> tuple[str, ...]:
        return tuple(self._rows.columns)

    @property
    def data(self) -> list[list[Any]]:
        """The rows, as given."""
        return [list(row) for row in self._rows.rows]

    @property
    def shape(self) -> tuple[int, int]:
        return len(self._rows.rows), len(self._rows.columns)

    def text(self, row: int, column: int) -> str:
        """The text the cell shows."""
        return str(self._rows.data(self._rows.index(row, column)))

    def to_dataframe(self) -> pd.DataFrame:
        return pd.DataFrame(self._rows.rows, columns=self._rows.columns)

    def selected_rows(self) -> set[int]:
        return {i.row() for i in self.view.selectionModel().selectedIndexes()}

    def show_rows(self, rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> None:
        """Replace the rows (numbered 1, 2, ... where row numbers are shown) and columns."""
        self._rows.replace(rows, columns)
        self.view.resizeColumnsToContents()
