"""The docks' result tables: Ctrl+C copies the selected rows as tab-separated text."""

from __future__ import annotations

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QApplication

from napari_microstructure.widgets._tables import ResultsTable


def test_ctrl_c_copies_the_selected_rows(qtbot):
    table = ResultsTable(["label", "area", "ecd"])
    qtbot.addWidget(table.native)
    table.show_rows([["1", "10.5", "3.2"], ["2", "20.1", "4.4"], ["3", "7.7", "1.1"]], ["a"] * 3)
    table.native.show()
    table.view.selectRow(0)
    table.view.selectionModel().select(
        table.view.model().index(2, 0),
        table.view.selectionModel().SelectionFlag.Select
        | table.view.selectionModel().SelectionFlag.Rows,
    )
    QApplication.clipboard().clear()
    qtbot.keyClick(table.view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QApplication.clipboard().text() == "1\t10.5\t3.2\n3\t7.7\t1.1"  # was one cell: '1'
