"""Grain (or particle) size histogram drawn by matplotlib inside a magicgui Container."""

from __future__ import annotations

from typing import Any

import numpy as np
from magicgui.widgets import Container


class SizeHistogram(Container):
    """Histogram of a :func:`core.measure.size_distribution` result, log axis when asked."""

    def __init__(self, height: int = 170) -> None:
        super().__init__(labels=False)
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.figure import Figure

        self._fig = Figure(figsize=(2.8, 1.9), dpi=90, layout="tight")
        self._canvas = FigureCanvasQTAgg(self._fig)
        self._canvas.setMinimumHeight(height)
        self.native.layout().addWidget(self._canvas)
        self._axes = self._fig.add_subplot(111)
        self.distribution: dict[str, Any] | None = None

    @property
    def figure(self) -> Any:
        return self._fig

    def plot(self, dist: dict[str, Any] | None, noun: str = "grain") -> None:
        """Draw a size distribution of ``noun``s ("grain", "particle"; None clears the plot)."""
        self.distribution = dist
        ax = self._axes
        ax.clear()
        if dist and dist["n"]:
            edges = np.asarray(dist["edges"])
            ax.bar(
                edges[:-1],
                dist["counts"],
                width=np.diff(edges),
                align="edge",
                color="#f0a030",
                edgecolor="#202020",
                linewidth=0.5,
            )
            ax.set_xscale("log" if dist["log"] else "linear")
            ax.axvline(dist["mean"], color="#56b4e9", lw=1.5, label=f"mean {dist['mean']:.3g}")
            ax.legend(fontsize=7, frameon=False)
            name = "ECD" if dist["quantity"] == "ecd" else "area"
            ax.set_xlabel(f"{noun} {name} [{dist['unit']}]", fontsize=8)
        ax.set_ylabel(f"{noun}s", fontsize=8)
        ax.tick_params(labelsize=7)
        self._canvas.draw_idle()
