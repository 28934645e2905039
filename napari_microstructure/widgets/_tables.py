"""Read-only result tables of the docks, showing the texts and numbers they are given."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from magicgui.widgets import Table
from qtpy.QtWidgets import QAbstractItemView, QStyledItemDelegate, QTableWidgetItem

# the item data role magicgui's Qt table keeps each cell's value in (what ``table.data`` reads)
_VALUE_ROLE = 255


def results_table(
    columns: Sequence[str], row_numbers: bool = False, min_height: int = 140
) -> Table:
    """A read-only table of ``columns`` that keeps a few rows visible in a crowded dock.

    magicgui's own cell display re-formats numbers (83.09 as "83.0900", 0.028 as "2.800e-02");
    a plain Qt delegate shows each value as the dock formatted it.
    """
    table = Table(value={"data": [], "index": [], "columns": list(columns)})
    table.native.setItemDelegate(QStyledItemDelegate(table.native))
    table.native.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.native.verticalHeader().setVisible(row_numbers)
    table.min_height = min_height
    return table


def show_rows(table: Table, rows: Sequence[Sequence[Any]], columns: Sequence[str]) -> None:
    """Replace the table's rows (numbered 1, 2, ... where row numbers are shown).

    The cells are written straight into the Qt table with its signals and drawing paused:
    magicgui's per-cell path took 7 s on the GUI thread for a table of 20 000 grains.
    """
    table.clear()
    table.column_headers = tuple(columns)
    table.row_headers = tuple(str(i + 1) for i in range(len(rows)))
    native = table.native
    native.setUpdatesEnabled(False)
    blocked = native.blockSignals(True)
    try:
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                item = QTableWidgetItem(str(value))
                item.setData(_VALUE_ROLE, value)
                native.setItem(r, c, item)
    finally:
        native.blockSignals(blocked)
        native.setUpdatesEnabled(True)
    native.horizontalHeader().setResizeContentsPrecision(200)  # widths from the first rows
    native.resizeColumnsToContents()
