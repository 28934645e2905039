"""What an export wrote, so that exporting again into the same folder replaces it.

Without it, an image that moved from train to val (another seed) or left the project would
stay behind from the earlier export and leak into the new data set. Only files this project
wrote there are removed; anything else in the folder is left alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_json

RECORD = ".napari-microstructure-export.json"


def replace_previous_export(root: str | Path) -> list[str]:
    """Delete the files the previous export into ``root`` wrote; returns their paths."""
    record = Path(root) / RECORD
    try:
        files = json.loads(record.read_text("utf-8")).get("files", [])
    except (OSError, ValueError):
        return []
    removed = []
    for rel in files:
        path = Path(root) / rel
        if path.is_file():
            path.unlink()
            removed.append(str(path))
    for cache in Path(root).glob("labels/*.cache"):  # ultralytics' label caches, now stale
        cache.unlink()
    return removed


def record_export(
    root: str | Path, written: list[str], info: dict[str, Any] | None = None
) -> list[str]:
    """Note the files of this export in ``root`` (for the next export), and ``info`` about it
    (``only_done``: only images marked done); returns ``written``."""
    root = Path(root).resolve()
    rel = [str(Path(p).resolve().relative_to(root)) for p in written]
    atomic_write_json(root / RECORD, {**(info or {}), "files": rel})
    return written


def export_info(root: str | Path) -> dict[str, Any] | None:
    """What the export into the folder ``root`` recorded about itself (``only_done``, absent
    from the records of older versions), None when no export of this project wrote it."""
    try:
        doc = json.loads((Path(root) / RECORD).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return {k: v for k, v in doc.items() if k != "files"} if isinstance(doc, dict) else None
