"""Folders of cached files kept under a size limit: the least recently used files go first."""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path

from .settings import _tell as tell_once  # logged once, shown by the docks
from .settings import get_setting

log = logging.getLogger(__name__)


def touch(path: Path) -> None:
    """Mark a cached file used now: the precise clock, since file times the kernel sets itself
    are coarse (milliseconds) and would tie files used one after the other."""
    now = time.time_ns()
    os.utime(path, ns=(now, now))


def limit_bytes(setting: str, default_gib: float) -> int:
    """Bytes a cache may hold: the setting ``setting`` in GiB (``default_gib`` when unset or not
    a usable number, e.g. NaN or Infinity from a hand edit; 0 keeps only the file just
    written)."""
    try:
        gib = float(get_setting(setting, default_gib))
    except (TypeError, ValueError, OverflowError):
        gib = default_gib
    limit = gib * 2**30
    if not math.isfinite(limit):  # NaN, Infinity or 1e400: int() would fail every write
        tell_once(
            f"setting {setting!r} is not a finite number; its default {default_gib} GiB is used"
        )
        limit = default_gib * 2**30
    return int(max(limit, 0.0))


def prune(folder: Path, pattern: str, limit: int, keep: Path | None = None) -> list[Path]:
    """Remove the least recently used files ``folder/pattern`` until they hold at most
    ``limit`` bytes. ``keep`` (the file just written) is never removed, even when it alone is
    larger. Returns the removed files."""
    files = []
    for path in folder.glob(pattern):
        try:
            st = path.stat()
        except OSError:  # removed meanwhile by another viewer
            continue
        files.append((st.st_mtime_ns, st.st_size, path))
    total = sum(size for _, size, _ in files)
    removed = []
    for _, size, path in sorted(files, key=lambda f: f[0]):
        if total <= limit:
            break
        if keep is not None and path == keep:
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
        total -= size
    if removed:
        log.info("%s: removed %d least recently used files", folder, len(removed))
    return removed
