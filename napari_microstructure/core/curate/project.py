"""An annotation project on disk: images, their labels with provenance, and model versions.

Layout of the folder the user picks::

    project.json                 manifest, written last: the commit point of every save
    images/<id>.tif              copied images (or the manifest references the original file)
    labels/<id>/instances.r<N>.tif   uint32 instance labels (grains, particles), revision N
    labels/<id>/phases.r<N>.tif      uint8 semantic phase labels
    labels/<id>/objects.r<N>.json    per-object provenance and the boxes
    models/<version>/weights.pt      trained model versions, with metrics in the manifest

A save writes new revision files (each atomically), then replaces ``project.json`` atomically,
then deletes the files no longer referenced. A kill or a full disk at any point leaves the
previous manifest and every file it references intact, so the project reopens exactly as last
saved.

Saves hold a lock file (``.project.lock``) so that two Project objects (two windows, the CLI
beside napari) never interleave, and a save refuses to commit over a manifest another object
committed since this one last read or wrote it (an autosave of one image goes on over a commit
that left that image and the classes alone: ``follow``). Opening an image, a window first
catches up with the newest commit (:meth:`Project.refresh`).
"""

from __future__ import annotations

import copy
import json
import math
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import (
    atomic_write_json,
    atomic_write_tiff,
    folder_lock,
    read_tiff,
    remove_stale_temps,
)
from . import provenance as prov
from .digest import ImageDigests, pixel_digest
from .labels import ImageLabels, LabelStore
from .manifest import (
    FORMAT,
    LOCK,
    MANIFEST,
    STALE_S,
    ProjectError,
    StaleProjectError,
    check_followable,
    class_names,
    disk_stamp,
    followed,
    new_record,
    newer_manifest,
    read_manifest,
)
from .models import ModelVersions
from .sources import source_key

__all__ = ["FORMAT", "MANIFEST", "ImageLabels", "Project", "ProjectError", "StaleProjectError"]
__all__ += ["ProjectMovedError"]


class ProjectMovedError(ProjectError):
    """The project's folder (or its manifest) is gone since it was opened: moved, renamed."""


class Project(LabelStore, ModelVersions, ImageDigests):
    """An open annotation project; every mutating method saves to disk before returning."""

    def __init__(self, root: Path, manifest: dict[str, Any]) -> None:
        self.root = Path(root)
        self._m = manifest
        self._lock = threading.RLock()
        self._disk = disk_stamp(self.root / MANIFEST)  # the version this object knows
        self._changing = False  # a _mutate block runs (they must not nest)
        self._digests: dict[str, str] = {}  # digests of older records, computed (ImageDigests)
        #: the image a window shows and autosaves as this object read it (set by the window):
        #: a commit that changed it is not followed (the window would save over it unseen)
        self.editing: str | None = None

    # -- open / create ------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        root: str | Path,
        classes: list[str] | None = None,
        phase_names: list[str] | None = None,
    ) -> Project:
        """Create a new project in an empty (or new) folder.

        Raises
        ------
        ProjectError : the folder holds a project, or a class name is blank or repeated.
        """
        root = Path(root)
        classes = class_names(classes or ["object"])
        if (root / MANIFEST).exists():
            raise ProjectError(f"{root} already holds a project; open it instead")
        root.mkdir(parents=True, exist_ok=True)
        manifest = {
            "format": FORMAT,
            "app": "napari-microstructure",
            "created": prov.now(),
            "classes": classes,
            "phase_names": list(phase_names or ["matrix"]),
            "images": [],
            "models": [],
            "active_model": None,
        }
        project = cls(root, {})
        with project._mutate() as m:
            m.update(manifest)
        return project

    @classmethod
    def open(cls, root: str | Path) -> Project:
        """Open an existing project, cleaning what an interrupted save left behind."""
        root = Path(root)
        read_manifest(root / MANIFEST)  # refuse a foreign folder before creating the lock file
        with folder_lock(root / LOCK, wait=False) as idle:
            # a save in progress elsewhere holds the lock: spare the files it may be writing
            project = cls(root, read_manifest(root / MANIFEST))
            age = 0.0 if idle else STALE_S
            remove_stale_temps(root, older_than=age)
            project._collect_garbage(older_than=age)
        return project

    @classmethod
    def open_or_create(cls, root: str | Path, **kwargs: Any) -> Project:
        """Open the project in ``root``, creating it when the folder holds none."""
        root = Path(root)
        return cls.open(root) if (root / MANIFEST).exists() else cls.create(root, **kwargs)

    def reread(self) -> Project:
        """Another object of this project as it is on disk now (for reading what another
        window or program saved since this one was opened; this object is unchanged)."""
        return type(self)(self.root, read_manifest(self.root / MANIFEST))

    @property
    def behind(self) -> bool:
        """True when another object or program committed since this one read or wrote."""
        return disk_stamp(self.root / MANIFEST) not in (self._disk, None)

    def refresh(self) -> bool:
        """Catch up with what another object or program committed since this one read or
        wrote (an image is then opened from the newest save); True when there was any.

        Raises
        ------
        StaleProjectError : that commit changed the image this object is :attr:`editing` (or
            the classes): stop editing it first.
        """
        if not self.behind:  # (a save of this object holds the lock for seconds: not waited)
            return False
        with self._lock:
            if self._changing:
                raise RuntimeError("Project.refresh within a _mutate block")
            newer = newer_manifest(self.root / MANIFEST, self._disk)
            if newer is None:
                return False
            if self.editing is not None:
                check_followable(self._m, newer[0], [self.editing])
            self._m, self._disk = newer
        return True

    # -- manifest -----------------------------------------------------------------------------
    @property
    def missing(self) -> bool:
        """True when the project's folder or its manifest is gone (moved, renamed, deleted)."""
        return not (self.root / MANIFEST).is_file()

    @property
    def manifest(self) -> dict[str, Any]:
        """A copy of the manifest as last committed."""
        with self._lock:
            return json.loads(json.dumps(self._m))

    @property
    def classes(self) -> list[str]:
        return list(self._m["classes"])

    @property
    def phase_names(self) -> list[str]:
        return list(self._m["phase_names"])

    def set_phase_names(self, names: list[str]) -> None:
        """Name the phase ids 0, 1, ... (the names a phases model trained on the project gets).

        Raises
        ------
        ValueError : the list is empty, or a name is blank or repeated.
        """
        if not names:
            raise ValueError("a project needs at least one phase name")
        checked = class_names(names)
        with self._mutate() as m:
            m["phase_names"] = checked

    def set_classes(self, classes: list[str]) -> None:
        """Replace the class names. Ids are positions in the list: renaming in place and
        adding at the end keep every object's class.

        Raises
        ------
        ValueError : the list is empty, a name is blank or repeated, or it would move objects
            to another class (removing or reordering a class that objects use).
        """
        if not classes:
            raise ValueError("a project needs at least one class")
        names = class_names(classes)
        with self._mutate() as m:
            old = m["classes"]
            moved = {
                i
                for i in range(len(old))
                if i >= len(names) or (names[i] != old[i] and names[i] in old)
            }
            used = self._class_use(moved)
            if used:
                cid, n = min(used.items())
                to = repr(names[cid]) if cid < len(names) else "nothing (removed)"
                raise ProjectError(
                    f"cannot change class {old[cid]!r} (id {cid}) to {to}: {n} object(s) use "
                    "it. Class ids are positions: rename in place or add at the end, and "
                    "re-class the objects before removing a class"
                )
            m["classes"] = names

    @contextmanager
    def _mutate(
        self, collect: str | None = None, follow: str | None = None, adding: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Change a copy of the manifest; it is committed, then swapped in, if the block ends
        without error (the object then still matches the disk after any failure). Then the
        files of image ``collect`` that the manifest no longer references are deleted.

        ``follow``: the block changes only that image's record; ``adding``: it adds an image of
        that digest. When another object committed since, it goes on from that commit if it
        left that image, the :attr:`editing` one and the classes as they are here, and added
        no image of the ``adding`` pixels (another image was saved or added), not refusing.

        Raises
        ------
        ProjectError : another object or program committed since this one read or wrote
            (StaleProjectError), or the folder was moved or renamed (ProjectMovedError).
        """
        with ExitStack() as stack:
            stack.enter_context(self._lock)
            if self._changing:  # an inner commit would be overwritten by the outer one
                raise RuntimeError("Project._mutate blocks must not nest")
            gone = not self.root.is_dir()
            if gone or (self._disk is not None and self.missing):  # (committed once: it was)
                what = "no longer exists" if gone else f"no longer holds {MANIFEST}"
                raise ProjectMovedError(  # (the lock needs the folder: it never makes it)
                    f"the project folder {self.root} {what} (moved or renamed?); this change "
                    "was not saved: open the project where it is now"
                )
            stack.enter_context(folder_lock(self.root / LOCK))
            path = self.root / MANIFEST
            # before the block writes a file: revision, image and model file names follow the
            # manifest, so a stale object would overwrite what the other one committed
            if disk_stamp(path) != self._disk:  # (StaleProjectError unless it may follow)
                newer = followed(path, self._m, follow, self.editing, adding)
                self._m, self._disk = newer, disk_stamp(path)
            self._changing = True
            stack.callback(setattr, self, "_changing", False)
            m = copy.deepcopy(self._m)
            yield m
            m["updated"] = prov.now()
            atomic_write_json(path, m)
            self._m, self._disk = m, disk_stamp(path)
            if collect is not None:  # still locked: no other save is writing files now
                self._collect_garbage(collect)

    # -- images -------------------------------------------------------------------------------
    @property
    def image_ids(self) -> list[str]:
        return [rec["id"] for rec in self._m["images"]]

    def image_record(self, image_id: str) -> dict[str, Any]:
        """The manifest entry of one image (copy)."""
        for rec in self._m["images"]:
            if rec["id"] == image_id:
                return dict(rec)
        raise KeyError(f"no image {image_id!r} in the project")

    def _record(self, image_id: str, m: dict[str, Any] | None = None) -> dict[str, Any]:
        for rec in (self._m if m is None else m)["images"]:
            if rec["id"] == image_id:
                return rec
        raise KeyError(f"no image {image_id!r} in the project")

    def add_image(
        self,
        image: np.ndarray,
        name: str,
        pixel_size: float | None = None,
        source: str | Path | None = None,
        copy: bool = True,
        digest: str | None = None,
        follow: bool = False,
    ) -> str:
        """Add an image and return its id.

        With ``copy`` the pixels are stored in the project; otherwise only ``source`` (the
        original file, which must exist) is referenced. ``digest``: the image's
        :func:`.digest.pixel_digest` when the caller has it already (a montage's takes a
        second), else computed here. ``follow``: added over another object's commit that
        added no image of these pixels (see :meth:`_mutate`), else, as without, refused.
        """
        image = np.asarray(image)
        if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] not in (3, 4)):
            raise ValueError(f"expected a 2-D grey or RGB image, got shape {image.shape}")
        # found again when its file is moved or renamed
        digest = pixel_digest(image) if digest is None else digest
        with self._mutate(adding=digest if follow else None) as m:
            rec = new_record(m, str(name), image.shape[:2], pixel_size, digest, prov.now())
            image_id, rec["source"] = rec["id"], source_key(source) if source else None
            if copy or not source:
                rel = f"images/{image_id}.tif"
                atomic_write_tiff(self.root / rel, image)
                rec["file"] = rel
            else:
                if not Path(source).is_file():
                    raise ValueError(f"cannot reference {source}: not a file")
                rec["file"] = str(Path(source).resolve())
            m["images"].append(rec)
        return image_id

    def image_path(self, image_id: str) -> Path:
        """Path of the stored (or referenced) image file."""
        path = Path(self._record(image_id)["file"])
        return path if path.is_absolute() else self.root / path

    def read_image(self, image_id: str) -> np.ndarray:
        """The pixels of an image of the project."""
        path = self.image_path(image_id)
        if path.suffix.lower() in (".tif", ".tiff"):
            return read_tiff(path)
        from skimage.io import imread

        return np.asarray(imread(str(path)))

    def set_pixel_size(
        self, image_id: str, pixel_size: float | None, follow: bool = False
    ) -> None:
        """Record an image's pixel size in µm (None: unknown), e.g. after a calibration;
        ``follow``: see :meth:`.LabelStore.save_labels`."""
        ps = float(pixel_size) if pixel_size else None
        if ps is not None and not (math.isfinite(ps) and ps > 0):
            raise ValueError(f"pixel size must be a positive number of µm, not {pixel_size}")
        with self._mutate(follow=image_id if follow else None) as m:
            self._record(image_id, m)["pixel_size"] = ps

    def set_done(self, image_id: str, done: bool = True, follow: bool = False) -> None:
        """Mark an image as fully annotated (or not); ``follow``: see :meth:`save_labels`."""
        with self._mutate(follow=image_id if follow else None) as m:
            self._record(image_id, m)["done"] = bool(done)
