"""``napari-microstructure measure LABELS``: ASTM E112 grain size, grain table, phase fractions."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from ..core.notes import join_notes
from . import CLIError
from ._common import pixel_size_arg, print_json, writing

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "measure",
        help="grain size (ASTM E112), per-grain table and phase fractions from a label image",
        description="Measure a grain label image (TIFF/PNG, one integer id per grain, 0 = "
        "background): grain count, mean lineal intercept and ASTM E112 G (intercept and "
        "planimetric), mean grain area, and phase fractions from a semantic label image. "
        "Without a pixel size everything is in pixels and G is null.",
    )
    p.add_argument("labels", metavar="LABELS", help="instance label image of the grains")
    p.add_argument(
        "--pixel-size",
        type=pixel_size_arg,
        metavar="UM",
        help="µm per pixel (overrides the file's)",
    )
    p.add_argument("--phases", metavar="SEMANTIC_LABELS", help="semantic phase image (ids 0..K-1)")
    p.add_argument(
        "--phase-names",
        metavar="NAMES",
        help="comma-separated names of phase ids 0, 1, ... (e.g. ferrite,pearlite)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--csv", type=Path, metavar="PATH", help="write the per-grain table here")
    p.add_argument(
        "--summary", type=Path, metavar="PATH", help="write the summary here (.json or .csv)"
    )
    p.set_defaults(func=run)


def measure_files(
    labels_path: str, pixel_size: float | None, phases_path: str | None, names: list[str] | None
) -> tuple[dict[str, Any], Any, Any]:
    """Read the files and return (summary, labels, pixel size); bad input -> CLIError."""
    from ..core.grains import without_one_region_size
    from ..core.measure import summarize
    from ..core.measure.io import read_labels

    try:
        labels, ps, note = read_labels(labels_path, pixel_size)
        phases = None
        if phases_path:
            phases, _, _ = read_labels(phases_path)
        summary = summarize(labels, ps, phases, names)
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    warning = without_one_region_size(summary, labels)  # a field without boundaries
    if warning:
        log.warning("%s: %s", labels_path, warning)
    if note:  # why the file's calibration was not used: non-square pixels, ...
        summary["note"] = join_notes(summary.get("note"), note)
    return summary, labels, ps


def run(args: argparse.Namespace) -> int:
    from ..core.measure import grain_table
    from ..core.measure.io import write_grain_table, write_summary

    names = [n.strip() for n in args.phase_names.split(",")] if args.phase_names else None
    summary, labels, ps = measure_files(args.labels, args.pixel_size, args.phases, names)
    summary = {"labels": str(args.labels), **summary}
    if args.csv:
        table = grain_table(labels, ps)
        with writing(args.csv):
            write_grain_table(args.csv, table)
        log.info("wrote %d grains to %s", len(table), args.csv)
    if args.summary:
        with writing(args.summary):
            write_summary(args.summary, summary)
    if args.json:
        print_json(summary)
    else:
        print(_text(summary))
    return 0


def _fmt(value: Any, spec: str = ".4g") -> str:
    return "n/a" if value is None else format(value, spec)


def _text(s: dict[str, Any]) -> str:
    from ..core.measure.summary import by_direction_text

    u = s["unit"]
    lines = [
        s["labels"],
        f"  grains: {s['grain_count']}",
        f"  mean lineal intercept: {_fmt(s['mean_intercept'])} {u}"
        + (
            f"  (95% CI {_fmt(s['mean_intercept_ci95'][0])}-{_fmt(s['mean_intercept_ci95'][1])})"
            if s.get("mean_intercept_ci95")
            else ""
        ),
        f"  ASTM E112 G: {_fmt(s['astm_g_intercept'], '.2f')} (intercept), "
        f"{_fmt(s['astm_g_planimetric'], '.2f')} (planimetric)",
        f"  mean grain area: {_fmt(s['mean_area'])} {u}²",
    ]
    if by_direction_text(s):
        lines.insert(3, f"  intercept by direction: {by_direction_text(s)}")
    for name, frac in (s.get("phase_fractions") or {}).items():
        ci = s["phase_fractions_ci95"].get(name)
        extra = f" (95% CI {_fmt(ci[0], '.3f')}-{_fmt(ci[1], '.3f')})" if ci else ""
        lines.append(f"  {name}: {frac:.3f}{extra}")
    if s.get("note"):
        lines.append(f"  note: {s['note']}")
    return "\n".join(lines)
