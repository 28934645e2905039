"""A small horizontal bar chart (matplotlib in Qt) of named values, e.g. class probabilities."""

from __future__ import annotations

from magicgui.widgets import Container


class BarChart(Container):
    """Horizontal bars of ``{name: value}`` in [0, 1], one bar highlighted."""

    def __init__(self, height: int = 150) -> None:
        super().__init__(labels=False)
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.figure import Figure

        self._fig = Figure(figsize=(3.0, 1.8), dpi=90, tight_layout=True)
        self._canvas = FigureCanvasQTAgg(self._fig)
        self._canvas.setMinimumHeight(height)
        self.native.layout().addWidget(self._canvas)
        self._axes = self._fig.add_subplot(111)
        self.values: dict[str, float] = {}

    def plot(self, values: dict[str, float], highlight: str | None = None) -> None:
        """Draw one bar per entry (empty dict clears)."""
        self.values = dict(values)
        ax = self._axes
        ax.clear()
        names = list(values)
        colors = ["#f0a030" if n == highlight else "#7f9fbf" for n in names]
        ax.barh(range(len(names)), [values[n] for n in names], color=colors)
        ax.set_yticks(range(len(names)), [n.replace("_", " ") for n in names], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("probability", fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        self._canvas.draw_idle()
