"""The project manifest on disk: reading and checking it, and telling when it changed.

Helpers of :class:`~.project.Project`; they hold no state.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

MANIFEST = "project.json"
LOCK = ".project.lock"  # held while a save writes, by every Project object of any process
FORMAT = 1
MAX_LABEL = 2**32 - 1  # instance labels are stored as uint32
STALE_S = 300.0  # an unreferenced file this old is no save in progress: garbage
REVISION_FILE = re.compile(r"(instances|phases|objects)\.r\d+\.(tif|json)")
DEFAULTS: dict[str, Any] = {
    "phase_names": ["matrix"],
    "models": [],
    "active_model": None,
}


class ProjectError(ValueError):
    """The folder is not a usable project (missing, unreadable or of a newer format)."""


class StaleProjectError(ProjectError):
    """Another window or program saved the project since this object read it."""


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest in ``path``, checked; missing optional keys get their defaults.

    Raises
    ------
    ProjectError : the file is missing, unreadable, not JSON or not a project this version reads.
    """
    if not path.is_file():
        raise ProjectError(f"no annotation project in {path.parent} (missing {MANIFEST})")
    try:
        manifest = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ProjectError(f"cannot read {path}: {exc}") from exc
    fmt = manifest.get("format") if isinstance(manifest, dict) else None
    if not isinstance(fmt, int) or isinstance(fmt, bool):
        raise ProjectError(f"{path} is not a napari-microstructure project (no format number)")
    if fmt > FORMAT:
        raise ProjectError(
            f"{path} is a project of format {fmt}; this version reads format {FORMAT} at most "
            "(update napari-microstructure)"
        )
    images, classes = manifest.get("images"), manifest.get("classes")
    if not isinstance(images, list) or not all(
        isinstance(r, dict) and isinstance(r.get("id"), str) for r in images
    ):
        raise ProjectError(f"{path} is damaged: its 'images' is not a list of image records")
    if not isinstance(classes, list):
        raise ProjectError(f"{path} is damaged: its 'classes' is not a list of names")
    for key, value in DEFAULTS.items():
        manifest.setdefault(key, json.loads(json.dumps(value)))
    return manifest


def disk_stamp(path: Path) -> tuple[int, int, int] | None:
    """Identity of the file's current version (inode, mtime, size), None when it is missing.

    Every commit replaces the manifest with a new file, so the stamp changes with each one.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def image_untouched(known: dict[str, Any], newer: dict[str, Any], image_id: str) -> bool:
    """Whether ``newer`` (a manifest another object committed) left image ``image_id``'s
    record, the classes and the phase names as ``known`` has them: a change of that image
    alone can then be committed over ``newer`` without undoing any of its changes."""

    def same(key: str) -> bool:
        return json.dumps(known.get(key), sort_keys=True) == json.dumps(
            newer.get(key), sort_keys=True
        )

    def record(m: dict[str, Any]) -> str | None:
        found = [r for r in m.get("images", []) if r.get("id") == image_id]
        return json.dumps(found[0], sort_keys=True) if found else None

    return (
        record(known) is not None
        and record(known) == record(newer)
        and all(same(key) for key in ("classes", "phase_names"))
    )


def followed(path: Path, known: dict[str, Any], image_id: str | None) -> dict[str, Any]:
    """The manifest at ``path`` that another object committed since ``known`` was read (the
    folder lock is held), when a change of image ``image_id`` alone may be committed over it
    (:func:`image_untouched`).

    Raises
    ------
    StaleProjectError : no ``image_id``, or that commit changed the image or the classes.
    """
    if image_id is None:
        raise StaleProjectError(
            "the project was changed by another window or program; reopen it "
            "(this change was not saved)"
        )
    newer = read_manifest(path)
    if not image_untouched(known, newer, image_id):
        raise StaleProjectError(
            f"{image_id} (or the classes) was changed by another window or program since "
            "it was read here; reopen the project to save this change over that version "
            "(this change was not saved)"
        )
    return newer


def check_label_ids(labels: Any, role: str = "instances") -> np.ndarray:
    """Labels as stored (instances uint32, phases uint8), refusing ids that would not survive
    the conversion.

    Raises
    ------
    ValueError : an id is negative, above the role's top (4294967295 for instances, 255 for
        phases) or not a whole number.
    """
    refuse_bad_ids(labels, role)
    dtype = np.uint8 if role == "phases" else np.uint32
    return np.ascontiguousarray(np.asarray(labels), dtype=dtype)


def refuse_bad_ids(labels: Any, role: str = "instances") -> None:
    """:func:`check_label_ids` without the conversion (no copy): nothing to look at when the
    labels' type holds only ids the stored type holds (a montage's uint16 instances)."""
    dtype = np.uint8 if role == "phases" else np.uint32
    top = int(np.iinfo(dtype).max)
    what = "phase ids" if role == "phases" else "label ids"
    arr = np.asarray(labels)
    if np.can_cast(arr.dtype, dtype, "safe"):
        return
    if arr.size and arr.dtype.kind in "iuf":
        lo, hi = arr.min(), arr.max()
        if lo < 0 or hi > top or (arr.dtype.kind == "f" and not np.all(arr == np.rint(arr))):
            raise ValueError(
                f"{what} must be whole numbers 0..{top}; these labels hold ids from "
                f"{lo} to {hi} (relabel them, e.g. with skimage.segmentation.relabel_sequential)"
            )
    elif arr.dtype.kind not in "iufb":
        raise ValueError(f"{what} must be whole numbers, got {arr.dtype} data")
