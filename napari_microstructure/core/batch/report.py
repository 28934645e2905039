"""A human-readable HTML report of a batch run: key numbers, plots and the problem images."""

from __future__ import annotations

import base64
import html
import io
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from ..atomic import atomic_write_text
from .aggregate import PooledSizes, pooled_sizes

REPORT_NAME = "report.html"
#: the G plot names its images on the axis up to this many
MAX_NAMED = 40

STYLE = """
body{font-family:sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px}
th{background:#eee}.plots img{max-width:520px;margin:4px;border:1px solid #ddd}
.bad{color:#a00}
"""


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.6, 3.2), layout="tight")
    return fig, fig.add_subplot(111)


def left_out_note(pooled: PooledSizes) -> str:
    """Says which images the size histogram leaves out because of their unit ("" if none)."""
    if not pooled.left_out:
        return ""
    others = ", ".join(f"{n} in {u or 'no unit'}" for u, n in sorted(pooled.left_out.items()))
    why = " (no pixel size: uncalibrated)" if "px" in pooled.left_out else ""
    return (
        f"The grain size distribution pools the images measured in {pooled.unit} only; "
        f"images left out: {others}{why}."
    )


def flagged_note(pooled: PooledSizes) -> str:
    """Says how many flagged images the size histogram leaves out ("" if none)."""
    if not pooled.skipped:
        return ""
    return (
        f"The grain size distribution and the G statistics leave out the {pooled.skipped} "
        "image(s) flagged by the quality gate (listed under Images to look at)."
    )


def no_table_note(pooled: PooledSizes, table: pd.DataFrame) -> str:
    """Says why there is no size histogram although grains were counted ("" otherwise)."""
    counted = "grain_count" in table and bool(table["grain_count"].notna().any())
    if pooled.values.size or pooled.found or not counted:
        return ""
    return (
        "No grain size distribution: the grains were counted, but no per-grain table "
        "(grains.csv) was written (the pipeline has measure.table: false, or measure.enabled: "
        "false)."
    )


def usable(table: pd.DataFrame) -> pd.Series:
    """Rows that enter the report's statistics: processed without error and not flagged."""
    if not len(table):
        return pd.Series(dtype=bool)
    flags = table["flags"].fillna("") if "flags" in table else pd.Series("", index=table.index)
    return (table["status"] == "ok") & (flags == "")


def _flagged_out(table: pd.DataFrame, col: str) -> int:
    """Flagged ok images that have a value of ``col`` but are left out of its statistics."""
    ok = table["status"] == "ok"
    return int((ok & ~usable(table) & table[col].notna()).sum())


def _plots(pooled: PooledSizes, table: pd.DataFrame) -> list[tuple[str, str]]:
    plots = []
    sizes = pooled.values[np.isfinite(pooled.values) & (pooled.values > 0)]
    if sizes.size:
        fig, ax = _figure()
        edges = np.geomspace(sizes.min(), sizes.max() * 1.0001, 31)
        ax.hist(sizes, bins=edges, color="#f0a030", edgecolor="#333", linewidth=0.4)
        ax.set_xscale("log")
        ax.set_xlabel(f"grain ECD [{pooled.unit}]")
        ax.set_ylabel("grains")
        ax.set_title(f"Grain size distribution ({sizes.size} grains)")
        plots.append(("Grain size distribution", _png(fig)))
    counts = table[[c for c in table.columns if c.startswith("count.")]].sum()
    if len(counts):
        fig, ax = _figure()
        names = [c.removeprefix("count.") for c in counts.index]
        ax.bar(names, counts.to_numpy(), color="#56b4e9", edgecolor="#333")
        ax.set_ylabel("objects (all images)")
        ax.set_title("Detections per class")
        plots.append(("Counts per class", _png(fig)))
    cols = [c for c in ("astm_g_intercept", "astm_g_planimetric") if c in table]
    shown = table[usable(table)]
    shown = shown[shown[cols].notna().any(axis=1)] if cols else shown.iloc[:0]
    if len(shown):
        fig, ax = _figure()
        x = np.arange(len(shown))
        for col in cols:
            mark = "o" if col == "astm_g_intercept" else "s"
            ax.plot(x, shown[col].astype(float), mark, ms=3, label=col.split("_")[-1])
        if len(shown) <= MAX_NAMED:
            ax.set_xticks(x, [str(k) for k in shown["image"]], rotation=60, ha="right", fontsize=6)
        else:
            ax.set_xlabel("image (sorted by name)")
        ax.set_ylabel("ASTM E112 G")
        ax.legend(fontsize=8)
        left = max(_flagged_out(table, c) for c in cols)
        ax.set_title(
            f"Grain size number per image ({len(shown)} image{'s' * (len(shown) > 1)}"
            + (f"; {left} flagged left out)" if left else ")"),
            fontsize=10,
        )
        plots.append(("G per image", _png(fig)))
    return plots


def _stat(v: pd.Series) -> str:
    """``mean ± sd (min–max), n = N``; the sd is "–" for a single value."""
    sd = f"{v.std(ddof=1):.2f}" if v.count() > 1 else "–"
    return f"{v.mean():.2f} ± {sd} ({v.min():.2f}–{v.max():.2f}), n = {v.count()}"


def _key_numbers(table: pd.DataFrame) -> list[tuple[str, str]]:
    n = len(table)
    ok = int((table["status"] == "ok").sum()) if n else 0
    flagged = int((table.get("flags", pd.Series(dtype=str)).fillna("") != "").sum())
    # "ok", not "processed": the command line's "processed" counts this run's images only
    items = [
        ("images", str(n)),
        ("ok", str(ok)),
        ("failed", str(n - ok)),
        ("flagged by the quality gate", str(flagged)),
    ]
    good = usable(table)
    for col, label in (
        ("astm_g_intercept", "G (intercept)"),
        ("astm_g_planimetric", "G (planimetric)"),
    ):
        if col in table and table[col].notna().any():
            v = table.loc[good, col].astype(float).dropna()
            left = _flagged_out(table, col)
            text = _stat(v) if v.count() else "no unflagged image"
            if left:
                text += f"; {left} flagged image{'s' * (left > 1)} left out"
            items.append((f"{label}: mean ± sd (min–max), unflagged images", text))
    if "grain_count" in table and table["grain_count"].notna().any():
        items.append(("grains measured", str(int(table["grain_count"].fillna(0).sum()))))
    if "seconds" in table and ok:
        t = table.loc[table["status"] == "ok", "seconds"].astype(float)
        items.append(("mean time per ok image", f"{t.mean():.2f} s (n = {t.count()})"))
    return items


def write_report(out_dir: str | Path, table: pd.DataFrame, pipeline: str = "") -> Path:
    """Write ``report.html`` in the output folder from the run's table."""
    out_dir = Path(out_dir)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        f"<!doctype html><meta charset='utf-8'><title>Batch report</title><style>{STYLE}</style>",
        "<h1>Batch report</h1>",
        f"<p>{html.escape(pipeline)} — written {when}. Full table: "
        "<a href='results.csv'>results.csv</a>.</p><table>",
    ]
    parts += [
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in _key_numbers(table)
    ]
    parts.append("</table><div class='plots'>")
    pooled = pooled_sizes(out_dir, skip=set(table.loc[~usable(table), "image"].astype(str)))
    parts += [
        f"<h3>{html.escape(t)}</h3><img alt='{html.escape(t)}' src='data:image/png;base64,{b}'>"
        for t, b in _plots(pooled, table)
    ]
    notes = (left_out_note(pooled), flagged_note(pooled), no_table_note(pooled, table))
    for note in notes:
        if note:
            parts.append(f"<p class='note'>{html.escape(note)}</p>")
    parts.append("</div>")
    shown = table.reindex(columns=["image", "status", "flags", "error"]).fillna("")
    problems = shown[(shown["status"] != "ok") | (shown["flags"] != "")]
    if len(problems):
        parts.append(
            "<h2>Images to look at</h2><table><tr><th>image</th><th>status</th>"
            "<th>flags</th><th>error</th></tr>"
        )
        for r in problems.itertuples():
            parts.append(
                f"<tr><td>{html.escape(str(r.image))}</td><td class='bad'>{r.status}</td>"
                f"<td>{html.escape(str(r.flags))}</td><td>{html.escape(str(r.error))}</td></tr>"
            )
        parts.append("</table>")
    path = out_dir / REPORT_NAME
    atomic_write_text(path, "\n".join(parts) + "\n")
    return path
