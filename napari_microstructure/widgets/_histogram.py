"""A small matplotlib histogram inside a magicgui Container (for dock widgets)."""

from __future__ import annotations

import numpy as np
from magicgui.widgets import Container


class HistogramBox(Container):
    """Bar chart of precomputed histogram counts with an optional vertical marker."""

    def __init__(self, xlabel: str = "", ylabel: str = "count", height: int = 130) -> None:
        super().__init__(labels=False)
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.figure import Figure

        self._fig = Figure(figsize=(3.0, 1.6), dpi=90, tight_layout=True)
        self._canvas = FigureCanvasQTAgg(self._fig)
        self._canvas.setMinimumHeight(height)
        self.native.layout().addWidget(self._canvas)
        self._axes = self._fig.add_subplot(111)
        self._xlabel, self._ylabel = xlabel, ylabel
        self.counts: np.ndarray | None = None
        self.edges: np.ndarray | None = None

    def plot(
        self, counts: np.ndarray | None, edges: np.ndarray | None, marker: float | None = None
    ) -> None:
        """Draw ``counts`` over bins ``edges`` (None clears) and a line at ``marker``."""
        self.counts, self.edges = counts, edges
        ax = self._axes
        ax.clear()
        if counts is not None and edges is not None:
            ax.bar(
                edges[:-1],
                counts,
                width=np.diff(edges),
                align="edge",
                color="#f0a030",
                edgecolor="#202020",
            )
            ax.set_xlim(float(edges[0]), float(edges[-1]))
        if marker is not None:
            ax.axvline(marker, color="#56b4e9", lw=1.5)
        ax.set_xlabel(self._xlabel, fontsize=8)
        ax.set_ylabel(self._ylabel, fontsize=8)
        ax.tick_params(labelsize=7)
        self._canvas.draw_idle()
