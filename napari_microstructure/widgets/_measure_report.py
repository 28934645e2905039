"""What the Measure dock reports: its summary text and its exports (CSV, JSON, YAML).

ASTM E112 grain size is for grains that fill the field. Objects that sit apart in a background
(particles, precipitates, inclusions, pores: Detect then Refine) have no grain size: the dock
tells them by how little of their outlines touch one another
(:func:`~..core.measure.lines.touching_share`) and shows their count and sizes without G.
The summary itself keeps the keys of the CLI's JSON.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from napari.utils.notifications import show_error, show_info, show_warning

from ..core.measure.lines import PARTICLES_BELOW


class MeasureReports:
    """Exports of :class:`~.measure.MeasureWidget` (its ``table``, ``summary``, ``_measured``
    and ``_watch``)."""

    def export_table(self, path: str | Path) -> list[str]:
        """Write the per-grain table as CSV."""
        from ..core.measure.io import write_grain_table

        if self.table is None:
            raise ValueError("nothing measured yet")
        self._warn_stale()
        return write_grain_table(path, self.table)

    def export_summary(self, path: str | Path) -> list[str]:
        """Write the summary as JSON (``.json``) or a one-row CSV."""
        from ..core.measure.io import write_summary

        if self.summary is None:
            raise ValueError("nothing measured yet")
        self._warn_stale()
        layer = self._measured.name if self._measured is not None else None
        return write_summary(path, self.summary, {"layer": layer})

    def export_pipeline(self, path: str | Path) -> list[str]:
        """Write the pipeline the widgets have set up (detect, grains, measure) as YAML."""
        from ..core.pipeline import PipelineConfig

        return [str(PipelineConfig.from_settings().save(path))]

    def _warn_stale(self) -> None:
        if self._watch.note:
            show_warning(f"Measure: saving the numbers as measured ({self._watch.note}).")

    def _ask_save(self, what: str, filters: str) -> None:
        from qtpy.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(self.native, f"Save {what}", "", filters)
        if not path:
            return
        action = {
            "grain table": self.export_table,
            "summary": self.export_summary,
            "pipeline": self.export_pipeline,
        }[what]
        try:
            written = action(path)
        except (OSError, ValueError) as exc:
            show_error(f"Measure: cannot save the {what}: {exc}")
            return
        show_info(f"Measure: saved {', '.join(written)}")


def _fmt(value: Any, spec: str = ".4g") -> str:
    return "n/a" if value is None else format(value, spec)


def are_particles(s: dict[str, Any], touching: float | None) -> bool:
    """Whether the objects of summary ``s`` sit apart in a background (``touching``, their
    :func:`~..core.measure.lines.touching_share`, below :data:`PARTICLES_BELOW`)."""
    return bool(s["grain_count"]) and touching is not None and touching < PARTICLES_BELOW


def summary_lines(s: dict[str, Any], touching: float | None = None) -> str:
    """The dock's summary text of :func:`core.measure.summarize` result ``s``; ``touching``
    (:func:`~..core.measure.lines.touching_share`) below :data:`PARTICLES_BELOW`: particles,
    no grain size."""
    from ..core.measure.summary import NO_PIXEL_SIZE_NOTE, by_direction_text

    u = s["unit"]
    ci = s.get("astm_g_intercept_ci95")
    ci_text = f" (95% CI {ci[0]:.2f}–{ci[1]:.2f})" if ci else ""
    lines = [
        f"grains: {s['grain_count']}   mean intercept: {_fmt(s['mean_intercept'])} {u}",
        f"G (intercept): {_fmt(s['astm_g_intercept'], '.2f')}{ci_text}",
        f"G (planimetric): {_fmt(s['astm_g_planimetric'], '.2f')}",
        f"mean grain area: {_fmt(s['mean_area'])} {u}²",
    ]
    if by_direction_text(s):
        lines.insert(1, f"intercept by direction: {by_direction_text(s)}")
    if s["grain_count"] is None:
        lines = ["phase map: phase fractions only (choose a grains layer for grain size)"]
    elif are_particles(s, touching):
        lines = [
            f"particles: {s['grain_count']}, apart in a background: not grains "
            f"({100 * touching:.0f} % of their outlines touch another object)",
            "no ASTM E112 grain size: G is for grains that fill the field (zero lines up to "
            "4 px wide are closed as boundaries); their sizes are in the table",
        ]
    for name, frac in (s.get("phase_fractions") or {}).items():
        pc = s["point_count"][name]["fraction"]
        lines.append(f"{name}: {100 * frac:.1f} % area, {100 * pc:.1f} % points (E562)")
    if s.get("warning"):
        lines.append(s["warning"])
    if s.get("note") and s["grain_count"] is not None:
        lines.append(s["note"].replace(NO_PIXEL_SIZE_NOTE, "no pixel size: pixels only, no G"))
    return "\n".join(lines)
