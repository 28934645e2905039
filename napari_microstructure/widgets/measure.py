"""Measure dock: ASTM E112 grain size, per-grain table, size histogram, phase fractions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FloatSpinBox,
    LineEdit,
    PushButton,
    SpinBox,
)
from napari.layers import Labels
from napari.utils.notifications import show_error, show_info, show_warning

from .._layers import (
    color_by_values,
    instance_classes,
    labels_array,
    layer_pixel_size,
    layer_role,
    phase_names_of,
    plane_index,
    select_label,
    set_grain_features,
)
from .._layers.labels import MAX_DIRECT_ID
from .._layers.labels import has_numba as _has_numba
from ..core.measure.lines import objects_touching
from ..core.settings import get_section, set_setting
from ._base import WorkerWidget, info_label, prefer_role
from ._events import EventHooks
from ._measure_plot import SizeHistogram
from ._measure_report import MeasureReports, are_particles, summary_lines
from ._measure_watch import NOT_WATCHED, MeasuredWatch, classes_measured, plane_print, planes_apart
from ._tables import ResultsTable
from ._values import NamesValue, Value, within

if TYPE_CHECKING:
    import napari

SETTING = "pipeline.measure"
NO_COLOUR = "label colours"
COLOUR_BY = ["area", "ecd", "circularity", "aspect_ratio", "orientation", "feret_max", "feret_min"]
SHOWN = ["label", "area", "ecd", "circularity", "aspect_ratio", "orientation", "touches_edge"]


class MeasureWidget(MeasureReports, WorkerWidget):
    """Measure a Labels layer of grains; results in the layer's features, a table and a plot."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(viewer)
        saved = get_section(SETTING, {"phase_names": [], "log": False, "bins": 20})
        # grains: objects first, phase maps last, scribbles after them (strokes, not grains);
        # phases: a phase map first
        grains_rank = prefer_role("instances", last=("scribbles",))
        self._grains = self._layer_combo(Labels, "grains", rank=grains_rank)
        phase_rank = prefer_role("phases")
        self._phases = self._layer_combo(Labels, "phases", nullable=True, rank=phase_rank)
        maps = [c for c in self._phases.choices if c is not None and phase_rank(c) == 0]
        self._phases.value = maps[0] if maps else None
        self._phase_names = LineEdit(label="phase names", value=", ".join(saved["phase_names"]))
        self._phase_names.tooltip = "Names of phase ids 0, 1, ... e.g. ferrite, pearlite"
        self._pixel = FloatSpinBox(label="µm / pixel", min=0.0, max=1e6, step=0.01, value=0.0)
        self._pixel.native.setDecimals(6)
        self._pixel.tooltip = "0 = the pixel size of the grains layer (shown in the box)"
        self._run = PushButton(text="Measure")
        self._summary_text = info_label()
        self._quantity = ComboBox(label="histogram of", choices=["ecd", "area"], value="ecd")
        self._log = CheckBox(text="log scale", value=saved["log"])
        self._bins = SpinBox(
            label="bins", min=2, max=200, value=int(within(saved["bins"], 2, 200))
        )
        self._hist = SizeHistogram()
        self._noun = "grain"  # what the objects measured last are: grains or particles
        self._colour = ComboBox(label="colour by", choices=[NO_COLOUR, *COLOUR_BY])
        self._table = ResultsTable(SHOWN)  # the label column names the row
        self._save_table = PushButton(text="Save grain table (CSV)…")
        self._save_summary = PushButton(text="Save summary (JSON/CSV)…")
        self._save_pipeline = PushButton(text="Save pipeline (YAML)…")
        self._result: tuple[dict[str, Any], pd.DataFrame] | None = None
        self._measured: Labels | None = None
        self._original_colormap: Any = None  # of _measured before colouring; None: not coloured
        self._summary_base = ""
        self._watch = MeasuredWatch(self._viewer, self._on_watch)
        self._disconnects.append(self._watch.close)
        self._pixel_layer: Any = None  # the grains layer whose pixel size the box shows
        self._pixel_hooks = EventHooks()  # on its scale and metadata
        self._disconnects.append(self._pixel_hooks.clear)

        self._run.changed.connect(self.run)
        for w in (self._quantity, self._log, self._bins):
            w.changed.connect(self._update_plot)
        self._colour.changed.connect(self._on_colour)
        self._table.view.selectionModel().selectionChanged.connect(self._on_row)
        self._save_table.changed.connect(lambda: self._ask_save("grain table", "CSV (*.csv)"))
        self._save_summary.changed.connect(
            lambda: self._ask_save("summary", "JSON (*.json);;CSV (*.csv)")
        )
        self._save_pipeline.changed.connect(lambda: self._ask_save("pipeline", "YAML (*.yaml)"))
        self._grains.changed.connect(self._show_layer_pixel_size)
        self._show_layer_pixel_size()
        plot_row = Container(widgets=[self._quantity, self._bins, self._log], layout="horizontal")
        self.extend(
            [
                self._grains,
                self._phases,
                self._phase_names,
                self._pixel,
                self._run,
                self._progress_row,
                self._summary_text,
                plot_row,
                self._hist,
                self._colour,
                Container(widgets=[self._table], labels=False),
                Container(
                    widgets=[self._save_table, self._save_summary, self._save_pipeline],
                    labels=False,
                ),
            ]
        )

    # -- public state -----------------------------------------------------------------------
    labels_layer = Value("_grains")
    phases_layer = Value("_phases")
    phase_names = NamesValue("_phase_names")

    @property
    def pixel_size(self) -> float | None:
        """µm per pixel used: the override when set, else the grains layer's."""
        if self._pixel.value > 0:
            return float(self._pixel.value)
        layer = self.labels_layer
        return layer_pixel_size(layer) if layer is not None else None

    @pixel_size.setter
    def pixel_size(self, value: float | None) -> None:
        self._pixel.value = float(value or 0.0)

    @property
    def summary(self) -> dict[str, Any] | None:
        """The last :func:`core.measure.summarize` result (same keys as the CLI's JSON)."""
        return self._result[0] if self._result else None

    @property
    def table(self) -> pd.DataFrame | None:
        """The last per-grain table (one row per label)."""
        return self._result[1] if self._result else None

    @property
    def distribution(self) -> dict[str, Any] | None:
        """The histogram shown (counts, edges, unit, ...)."""
        return self._hist.distribution

    colour_by = Value("_colour", str)

    @property
    def histogram(self) -> SizeHistogram:
        return self._hist

    @property
    def table_columns(self) -> tuple[str, ...]:
        """Column headers of the table shown in the dock."""
        return tuple(self._table.column_headers)

    # -- actions ----------------------------------------------------------------------------
    def _show_layer_pixel_size(self, _value: Any = None) -> None:
        """Show what 0 in the µm / pixel box stands for: the grains layer's pixel size (and
        follow it when the Pixel size dock changes it)."""
        layer = self.labels_layer
        if layer is not self._pixel_layer:
            self._pixel_hooks.clear()
            if layer is not None:
                hooks = ("scale", "metadata")
                self._pixel_hooks.connect(layer.events, hooks, self._show_layer_pixel_size)
            self._pixel_layer = layer
        ps = layer_pixel_size(layer) if layer is not None else None
        self._pixel.native.setSpecialValueText(f"layer: {ps:g}" if ps else "layer: none (px)")

    def run(self) -> Any:
        """Measure the chosen grains layer in a worker; returns the worker (or None)."""
        from ..core.grains import without_one_region_size
        from ..core.measure import measure

        self._show_layer_pixel_size()  # its scale may have changed since it was chosen
        layer = self.labels_layer
        if layer is None or layer_role(layer) == "scribbles":  # strokes, never grains
            show_error("Measure: choose a Labels layer of grains (or a phase map) first.")
            return None
        phase_layer = self.phases_layer
        if layer_role(layer) == "phases":  # a phase map chosen: its phase fractions only
            phase_layer = layer
        if not all(self._plane_on_screen(lay, "Measure") for lay in (layer, phase_layer)):
            return None
        labels = None if phase_layer is layer else labels_array(layer)
        phases = labels_array(phase_layer) if phase_layer is not None else None
        if labels is not None and phases is not None and phases.shape != labels.shape:
            show_error(
                f"Measure: the phases layer ({phases.shape}) and the grains ({labels.shape}) "
                "differ in size."
            )
            return None
        apart = planes_apart(layer, phase_layer)  # phases of one plane, grains of another
        if apart:
            show_error(f"Measure: {apart}")
            return None
        ps, names = self.pixel_size, self.phase_names or None
        watched = classes_measured(layer, phase_layer, names is not None)  # edits: stale
        if names is None and phase_layer is not None:  # e.g. a phases model's classes
            names = phase_names_of(phase_layer)
        # phases from a class per grain in the layer's features (e.g. painted, classified),
        # mapped by the worker on the grains as measured (boundary lines closed)
        classes = instance_classes(layer) if phases is None else None
        set_setting(
            SETTING,
            {
                "phase_names": self.phase_names,
                "bins": int(self._bins.value),
                "log": bool(self._log.value),
            },
        )
        if ps:
            set_setting("pipeline.pixel_size", ps)

        plane = plane_index(layer)  # labels_array measures the plane on screen
        fixed = self._pixel.value > 0  # typed in the box: the layer's pixel size not used
        measured = plane_print(layer, plane)  # edits while it runs are edits since measured
        phase_plane = None  # the phases layer's plane measured, and its checksum then
        if phase_layer is not None and phase_layer is not layer:
            on_screen = plane_index(phase_layer)
            phase_plane = (phase_layer, on_screen, plane_print(phase_layer, on_screen))

        def on_done(result: tuple[dict[str, Any], pd.DataFrame, float | None]) -> None:
            self._on_result(result, layer, plane, ps, fixed, measured, phase_plane, watched)

        def job() -> Any:  # a field of one region has no grain size, as in the CLI
            summary, table = yield from measure(labels, ps, phases, names, classes=classes)
            if labels is not None:
                without_one_region_size(summary, labels)
            return summary, table, objects_touching(labels)  # grains or particles

        return self._start(job, on_done, "Measure")

    def select_row(self, row: int) -> int:
        """Select table row ``row``: its grain is selected (and shown alone) in the viewer."""
        table = self.table
        if table is None or not 0 <= row < len(table):
            raise IndexError(f"no grain in row {row}")
        label, layer = int(table["label"].iloc[row]), self._measured
        if layer is not None:
            select_label(layer, label)
            r, c = table["centroid_row"].iloc[row], table["centroid_col"].iloc[row]
            # the layer's own transform (scale, translate, rotate, affine), on the plane measured
            pos = np.asarray(layer.data_to_world((*self._watch.plane, r, c)), dtype=float)
            world = np.asarray(self._viewer.dims.point, dtype=float)
            if len(pos) <= len(world):  # not when the layer has left the viewer
                world[len(world) - len(pos) :] = pos
                for axis in range(len(world) - len(pos), len(world) - 2):  # back to that plane
                    self._viewer.dims.set_point(axis, world[axis])
                camera = getattr(self._viewer, "scene", self._viewer).camera
                camera.center = tuple(world[list(self._viewer.dims.displayed)])
        return label

    # -- handlers ---------------------------------------------------------------------------
    def _on_watch(self, note: str) -> None:
        self._summary_text.value = self._summary_base + (f"\nnote: {note}" if note else "")

    def _on_result(
        self,
        result: tuple[dict[str, Any], pd.DataFrame, float | None],
        layer: Labels,
        plane: tuple = (),
        pixel_size: float | None = None,
        fixed: bool = True,
        measured: int | None = None,
        phases: tuple[Labels, tuple, int] | None = None,
        classes: Any = NOT_WATCHED,
    ) -> None:
        from ..core.measure.io import with_unit

        if self._input_closed(layer, "Measure"):  # deleted during the run: no numbers of it
            return
        summary, table, touching = result
        if layer is not self._measured or table is None:
            self._restore_colours()  # the dock colours one layer, the one measured last
        self._result = summary, table
        self._measured = layer
        self._summary_base = summary_lines(summary, touching)
        self._noun = "particle" if are_particles(summary, touching) else "grain"  # the plot's
        self._watch.follow(layer, plane, pixel_size, fixed, measured, phases, classes)
        headers = [with_unit(c, summary["unit"]) for c in SHOWN]
        if table is None:  # a phase map: no grains to list or plot
            self._table.show_rows([], headers)
            self._hist.plot(None)
            return
        if layer in self._viewer.layers and not self._watch.edited:
            # (labels edited while it ran keep their features: a new object's class)
            with self._watch.own_features():
                set_grain_features(layer, table)
        fmt = {c: "{:.4g}" for c in SHOWN if c not in ("label", "touches_edge")}
        rows = [
            [fmt[c].format(v) if c in fmt else str(v) for c, v in zip(SHOWN, rec, strict=True)]
            for rec in table[SHOWN].itertuples(index=False)
        ]
        self._table.show_rows(rows, headers)
        self._update_plot()
        self._on_colour()

    def _update_plot(self, _value: Any = None) -> None:
        from ..core.measure import size_distribution

        if self.table is None:
            return
        quantity, bins, log = str(self._quantity.value), int(self._bins.value), self._log.value
        self._hist.plot(size_distribution(self.table, quantity, bins, bool(log)), self._noun)

    def _on_colour(self, _value: Any = None) -> None:
        layer, table = self._measured, self.table
        if layer is None or table is None or layer not in self._viewer.layers:
            return
        if self.colour_by == NO_COLOUR:
            self._restore_colours()
            return
        top = int(table["label"].max()) if len(table) else 0
        if top > MAX_DIRECT_ID and not _has_numba():
            show_warning(
                f"Measure: colour by needs grain ids up to {MAX_DIRECT_ID} here (napari "
                "colours larger ids only with the numba package); the label colours stay."
            )
            return
        if self._original_colormap is None:  # not over our own colouring when measured again
            self._original_colormap = layer.colormap
        lo, hi = color_by_values(layer, table["label"].to_numpy(), table[self.colour_by])
        show_info(f"Measure: grains coloured by {self.colour_by} ({lo:.4g} to {hi:.4g})")

    def _restore_colours(self) -> None:
        """Give the measured layer back the colours it had before the dock coloured it."""
        if self._measured is not None and self._original_colormap is not None:
            self._measured.colormap = self._original_colormap
        self._original_colormap = None

    def _on_row(self, *_args: Any) -> None:
        rows = self._table.selected_rows()
        if len(rows) == 1:
            self.select_row(rows.pop())
