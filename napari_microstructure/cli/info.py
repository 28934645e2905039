"""``napari-microstructure info IMAGE``: what the file holds and which pixel size was found."""

from __future__ import annotations

import argparse

from ..core.imageio import ImageReadError, describe, read_micrograph
from . import CLIError
from ._common import print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="show an image's size, type and pixel size (µm/px)")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    results = []
    failed = 0
    for path in args.images:
        try:
            results.append(describe(read_micrograph(path)))
        except ImageReadError as exc:
            if len(args.images) == 1:
                raise CLIError(str(exc)) from exc
            results.append({"path": path, "error": str(exc)})
            failed += 1
    if args.json:
        print_json(results[0] if len(results) == 1 else results)
    else:
        for info in results:
            print(_text(info))
    return 1 if failed else 0


def _text(info: dict) -> str:
    if "error" in info:
        return f"{info['path']}\n  error: {info['error']}"
    ps = info["pixel_size_um"]
    lines = [
        info["path"],
        f"  shape: {' x '.join(map(str, info['shape']))}  dtype: {info['dtype']}"
        f"  rgb: {info['rgb']}  pages: {info['pages']}",
        f"  pixel size: {ps:.6g} µm/px (from {info['pixel_size_source']})"
        if ps
        else f"  pixel size: unknown — {info['note']}",
    ]
    if info["field_of_view_um"]:
        w, h = info["field_of_view_um"]
        lines.append(f"  field of view: {w:.4g} x {h:.4g} µm")
    return "\n".join(lines)
