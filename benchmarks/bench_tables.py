"""The docks' result tables on the GUI thread, measured side by side in one run.

A grain table of N rows (the Measure dock's seven columns, texts as it formats them) shown
(1) as one ``QTableWidgetItem`` per cell, what the docks did with magicgui's ``Table`` (drawing
and signals paused), and (2) by :class:`ResultsTable`, whose view asks a model for the cells it
draws. Each is shown and drawn once (``processEvents``) before the clock stops.

Usage: ``xvfb-run -a python benchmarks/bench_tables.py [--rows 100000] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import statistics
import time

COLUMNS = ["label", "area (µm²)", "ecd (µm)", "circularity", "aspect_ratio", "orientation (°)"]
COLUMNS += ["touches_edge"]


def _rows(n: int) -> list[list[str]]:
    return [
        [str(i + 1), f"{37.5 + i % 997:.4g}", f"{6.9 + (i % 89) / 7:.4g}", f"{0.81:.4g}"]
        + [f"{1.3 + (i % 13) / 10:.4g}", f"{(i * 37) % 180 - 90:.4g}", str(i % 50 == 0)]
        for i in range(n)
    ]


def _items(rows: list[list[str]]) -> float:
    from qtpy.QtWidgets import QApplication, QTableWidget, QTableWidgetItem

    table = QTableWidget()
    table.show()
    start = time.perf_counter()
    table.setUpdatesEnabled(False)
    blocked = table.blockSignals(True)
    table.setColumnCount(len(COLUMNS))
    table.setHorizontalHeaderLabels(COLUMNS)
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            item = QTableWidgetItem(value)
            item.setData(255, value)  # magicgui's value role, as the docks set it
            table.setItem(r, c, item)
    table.blockSignals(blocked)
    table.setUpdatesEnabled(True)
    table.horizontalHeader().setResizeContentsPrecision(200)
    table.resizeColumnsToContents()
    QApplication.processEvents()
    took = time.perf_counter() - start
    table.close()
    return took


def _model(rows: list[list[str]]) -> float:
    from qtpy.QtWidgets import QApplication

    from napari_microstructure.widgets._tables import ResultsTable

    table = ResultsTable(COLUMNS)
    table.native.show()
    start = time.perf_counter()
    table.show_rows(rows, COLUMNS)
    QApplication.processEvents()
    took = time.perf_counter() - start
    assert table.shape == (len(rows), len(COLUMNS))
    table.native.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from qtpy.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])  # noqa: F841 - kept alive
    rows = _rows(args.rows)
    items = [_items(rows) for _ in range(args.repeats)]
    model = [_model(rows) for _ in range(args.repeats)]
    a, b = statistics.median(items), statistics.median(model)
    print(f"table of {args.rows} rows x {len(COLUMNS)} columns, median of {args.repeats}:")
    print(f"  one item per cell (before): {a * 1000:9.1f} ms")
    print(f"  ResultsTable (model):       {b * 1000:9.1f} ms")
    print(f"  ratio model / items:        {b / a:9.4f}")


if __name__ == "__main__":
    main()
