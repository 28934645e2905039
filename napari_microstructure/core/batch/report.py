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
    if "astm_g_intercept" in table and table["astm_g_intercept"].notna().any():
        fig, ax = _figure()
        x = np.arange(len(table))
        for col, mark in (("astm_g_intercept", "o"), ("astm_g_planimetric", "s")):
            if col in table:
                ax.plot(x, table[col].astype(float), mark, ms=3, label=col.split("_")[-1])
        ax.set_xlabel("image (sorted by name)")
        ax.set_ylabel("ASTM E112 G")
        ax.legend(fontsize=8)
        ax.set_title("Grain size number per image")
        plots.append(("G per image", _png(fig)))
    return plots


def _key_numbers(table: pd.DataFrame) -> list[tuple[str, str]]:
    n = len(table)
    ok = int((table["status"] == "ok").sum()) if n else 0
    flagged = int((table.get("flags", pd.Series(dtype=str)).fillna("") != "").sum())
    items = [
        ("images", str(n)),
        ("processed", str(ok)),
        ("failed", str(n - ok)),
        ("flagged by the quality gate", str(flagged)),
    ]
    for col, label in (
        ("astm_g_intercept", "G (intercept)"),
        ("astm_g_planimetric", "G (planimetric)"),
    ):
        if col in table and table[col].notna().any():
            v = table[col].astype(float)
            items.append(
                (
                    f"{label}: mean ± sd (min–max)",
                    f"{v.mean():.2f} ± {v.std(ddof=1) if v.count() > 1 else 0:.2f} "
                    f"({v.min():.2f}–{v.max():.2f})",
                )
            )
    if "grain_count" in table and table["grain_count"].notna().any():
        items.append(("grains measured", str(int(table["grain_count"].fillna(0).sum()))))
    if "seconds" in table and n:
        items.append(("mean time per image", f"{table['seconds'].astype(float).mean():.2f} s"))
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
    pooled = pooled_sizes(out_dir)
    parts += [
        f"<h3>{html.escape(t)}</h3><img alt='{html.escape(t)}' src='data:image/png;base64,{b}'>"
        for t, b in _plots(pooled, table)
    ]
    note = left_out_note(pooled)
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
    path = out_dir / "report.html"
    atomic_write_text(path, "\n".join(parts) + "\n")
    return path
