"""The project manifest on disk: reading and checking it, and telling when it changed.

Helpers of :class:`~.project.Project`; they hold no state.
"""

from __future__ import annotations

import json
import os
import re
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import folder_lock

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


def class_names(classes: list[str]) -> list[str]:
    """The class names as strings, refusing blank and repeated names (a box's class is read
    back by name: two classes of one name would swap the boxes of one into the other)."""
    names = [str(c).strip() for c in classes]
    if any(not n for n in names):
        raise ProjectError(f"class names cannot be blank: {', '.join(map(repr, names))}")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ProjectError(f"class names must be distinct; repeated: {', '.join(dup)}")
    return names


def new_record(
    m: dict[str, Any],
    name: str,
    shape: tuple[int, ...],
    pixel_size: float | None,
    digest: str,
    added: str,
) -> dict[str, Any]:
    """The record of an image ``name`` added to manifest ``m``, with an id of its own (ids
    name files: "Grain" and "grain" are one file on macOS and Windows disks); no file yet."""
    base = re.sub(r"[^A-Za-z0-9_-]+", "_", Path(name).stem).strip("_")[:40] or "image"
    taken = {str(r["id"]).casefold() for r in m["images"]}
    image_id, n = base, 1
    while image_id.casefold() in taken:
        n += 1
        image_id = f"{base}_{n}"
    return {
        "id": image_id,
        "name": name,
        "source": None,
        "shape": [int(s) for s in shape],
        "pixel_size": float(pixel_size) if pixel_size else None,
        "added": added,
        "rev": 0,
        "files": {},
        "done": False,
        "digest": digest,
    }


def newer_manifest(path: Path, known: Any) -> tuple[dict[str, Any], Any] | None:
    """The manifest at ``path`` and its :func:`disk_stamp` when that is not ``known`` (another
    object committed since), read under the folder lock so that the two match; None when it
    is that version, or gone."""
    if disk_stamp(path) in (known, None):
        return None
    with ExitStack() as stack:
        try:
            stack.enter_context(folder_lock(path.parent / LOCK))
        except OSError:  # a read-only folder: nobody commits there
            pass
        stamp = disk_stamp(path)
        return None if stamp in (known, None) else (read_manifest(path), stamp)


def _image_json(m: dict[str, Any], image_id: str) -> str | None:
    found = [r for r in m.get("images", []) if r.get("id") == image_id]
    return json.dumps(found[0], sort_keys=True) if found else None


def check_followable(
    known: dict[str, Any],
    newer: dict[str, Any],
    ids: list[str],
    adding: str | None = None,
) -> None:
    """Refuse to go on from ``newer`` (a manifest another object committed since ``known`` was
    read) unless it left the records of images ``ids``, the classes and the phase names as
    ``known`` has them, and (``adding``: the digest of an image to add) added no image of
    those pixels: a change of those images alone, or an addition, can then be committed over
    ``newer`` without undoing any of its changes.

    Raises
    ------
    StaleProjectError : it did not.
    """
    mine = [(i, _image_json(known, i)) for i in dict.fromkeys(ids)]
    changed = [i for i, rec in mine if rec is None or rec != _image_json(newer, i)]
    keys = ("classes", "phase_names")
    if not changed and any(json.dumps(known.get(k)) != json.dumps(newer.get(k)) for k in keys):
        changed = ["the classes (or the phase names)"]
    if changed:
        raise StaleProjectError(
            f"{' and '.join(changed)} {'were' if len(changed) > 1 else 'was'} saved by another "
            "window or program since read here, so this change was not saved (reopening the "
            "project shows that version)"
        )
    old = {r["id"] for r in known.get("images", [])}
    twin = [r["id"] for r in newer["images"] if r["id"] not in old and r.get("digest") == adding]
    if adding is not None and twin:
        raise StaleProjectError(
            f"another window or program added these pixels to the project as {twin[0]} since "
            "it was read here, so they were not added again (reopen the project to see it)"
        )


def followed(
    path: Path,
    known: dict[str, Any],
    image_id: str | None,
    editing: str | None = None,
    adding: str | None = None,
) -> dict[str, Any]:
    """The manifest at ``path`` that another object committed since ``known`` was read (the
    folder lock is held), when a change of image ``image_id`` alone, or the addition of an
    image of digest ``adding``, may be committed over it: that commit left the image, the
    image ``editing`` (a window's layers show it as ``known`` has it), the classes and the
    phase names alone, and added no image of the ``adding`` pixels (:func:`check_followable`).

    Raises
    ------
    StaleProjectError : no ``image_id`` nor ``adding``, or that commit changed what it must
        leave alone.
    """
    if image_id is None and adding is None:
        raise StaleProjectError(
            "the project was changed by another window or program; reopen it "
            "(this change was not saved)"
        )
    newer = read_manifest(path)
    check_followable(known, newer, [i for i in (image_id, editing) if i is not None], adding)
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
