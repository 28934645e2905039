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
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import (
    atomic_write_json,
    atomic_write_tiff,
    read_tiff,
    remove_stale_temps,
)
from . import provenance as prov
from .models import ModelVersions

MANIFEST = "project.json"
FORMAT = 1


class ProjectError(ValueError):
    """The folder is not a usable project (missing, unreadable or of a newer format)."""


@dataclass
class ImageLabels:
    """Everything annotated on one image."""

    instances: np.ndarray | None = None
    phases: np.ndarray | None = None
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    boxes: list[dict[str, Any]] = field(default_factory=list)

    def instance_classes(self) -> dict[int, int]:
        """Class id of every instance label."""
        return {int(k): int(v.get("class_id", 0)) for k, v in self.objects.items()}


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", Path(name).stem).strip("_")[:40] or "image"


class Project(ModelVersions):
    """An open annotation project; every mutating method saves to disk before returning."""

    def __init__(self, root: Path, manifest: dict[str, Any]) -> None:
        self.root = Path(root)
        self._m = manifest
        self._lock = threading.RLock()

    # -- open / create ------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        root: str | Path,
        classes: list[str] | None = None,
        phase_names: list[str] | None = None,
    ) -> Project:
        """Create a new project in an empty (or new) folder."""
        root = Path(root)
        if (root / MANIFEST).exists():
            raise ProjectError(f"{root} already holds a project; open it instead")
        root.mkdir(parents=True, exist_ok=True)
        manifest = {
            "format": FORMAT,
            "app": "napari-microstructure",
            "created": prov.now(),
            "classes": list(classes or ["object"]),
            "phase_names": list(phase_names or ["matrix"]),
            "images": [],
            "models": [],
            "active_model": None,
        }
        project = cls(root, manifest)
        project._commit()
        return project

    @classmethod
    def open(cls, root: str | Path) -> Project:
        """Open an existing project, cleaning what an interrupted save left behind."""
        root = Path(root)
        path = root / MANIFEST
        if not path.is_file():
            raise ProjectError(f"no annotation project in {root} (missing {MANIFEST})")
        try:
            manifest = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise ProjectError(f"cannot read {path}: {exc}") from exc
        if not isinstance(manifest, dict) or int(manifest.get("format", 0)) > FORMAT:
            raise ProjectError(f"{path} is not a project of a format this version can read")
        project = cls(root, manifest)
        remove_stale_temps(root)
        project._collect_garbage()
        return project

    @classmethod
    def open_or_create(cls, root: str | Path, **kwargs: Any) -> Project:
        """Open the project in ``root``, creating it when the folder holds none."""
        root = Path(root)
        return cls.open(root) if (root / MANIFEST).exists() else cls.create(root, **kwargs)

    # -- manifest -----------------------------------------------------------------------------
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

    def set_classes(self, classes: list[str]) -> None:
        """Replace the class names (ids are positions in the list)."""
        with self._lock:
            self._m["classes"] = [str(c) for c in classes]
            self._commit()

    def _commit(self) -> None:
        self._m["updated"] = prov.now()
        atomic_write_json(self.root / MANIFEST, self._m)

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

    def _record(self, image_id: str) -> dict[str, Any]:
        for rec in self._m["images"]:
            if rec["id"] == image_id:
                return rec
        raise KeyError(f"no image {image_id!r} in the project")

    def find_image(self, name: str) -> str | None:
        """Id of the image added under ``name`` (or with that source file), if any."""
        for rec in self._m["images"]:
            if rec["name"] == name or (rec.get("source") and rec["source"] == str(name)):
                return rec["id"]
        return None

    def add_image(
        self,
        image: np.ndarray,
        name: str,
        pixel_size: float | None = None,
        source: str | Path | None = None,
        copy: bool = True,
    ) -> str:
        """Add an image and return its id.

        With ``copy`` the pixels are stored in the project; otherwise only ``source`` (the
        original file, which must exist) is referenced.
        """
        image = np.asarray(image)
        if image.ndim not in (2, 3):
            raise ValueError(f"expected a 2-D grey or RGB image, got shape {image.shape}")
        with self._lock:
            base = _slug(name)
            taken = set(self.image_ids)
            image_id, n = base, 1
            while image_id in taken:
                n += 1
                image_id = f"{base}_{n}"
            rec: dict[str, Any] = {
                "id": image_id,
                "name": str(name),
                "source": str(source) if source else None,
                "shape": [int(s) for s in image.shape[:2]],
                "pixel_size": float(pixel_size) if pixel_size else None,
                "added": prov.now(),
                "rev": 0,
                "files": {},
                "done": False,
            }
            if copy or not source:
                rel = f"images/{image_id}.tif"
                atomic_write_tiff(self.root / rel, image)
                rec["file"] = rel
            else:
                if not Path(source).is_file():
                    raise ValueError(f"cannot reference {source}: not a file")
                rec["file"] = str(Path(source).resolve())
            self._m["images"].append(rec)
            self._commit()
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

    def set_done(self, image_id: str, done: bool = True) -> None:
        """Mark an image as fully annotated (or not)."""
        with self._lock:
            self._record(image_id)["done"] = bool(done)
            self._commit()

    # -- labels -------------------------------------------------------------------------------
    def load_labels(self, image_id: str) -> ImageLabels:
        """The labels of one image as last saved."""
        with self._lock:
            rec = self._record(image_id)
            files = dict(rec.get("files", {}))
        folder = self.root / "labels" / image_id
        out = ImageLabels()
        if "instances" in files:
            out.instances = read_tiff(folder / files["instances"])
        if "phases" in files:
            out.phases = read_tiff(folder / files["phases"])
        if "objects" in files:
            data = json.loads((folder / files["objects"]).read_text("utf-8"))
            out.objects = data.get("objects", {})
            out.boxes = data.get("boxes", [])
        return out

    def save_labels(
        self,
        image_id: str,
        instances: np.ndarray | None = None,
        phases: np.ndarray | None = None,
        boxes: list[dict[str, Any]] | None = None,
        source: str = prov.MANUAL,
        classes: dict[int, int] | None = None,
        default_class: int = 0,
    ) -> int:
        """Save new labels of an image (``None`` keeps what is stored) and return the revision.

        Provenance is updated by comparing with the stored labels: see
        :func:`~.provenance.update_objects` and :func:`~.provenance.update_boxes`.
        """
        with self._lock:
            rec = self._record(image_id)
            shape = tuple(rec["shape"])
            for what, arr in (("instances", instances), ("phases", phases)):
                if arr is not None and tuple(np.shape(arr)) != shape:
                    raise ValueError(f"{what} shape {np.shape(arr)} != image shape {shape}")
            old = self.load_labels(image_id)
            rev = int(rec.get("rev", 0)) + 1
            folder = self.root / "labels" / image_id
            files = dict(rec.get("files", {}))
            objects, new_boxes = old.objects, old.boxes
            if instances is not None:
                inst = np.ascontiguousarray(instances, dtype=np.uint32)
                objects = prov.update_objects(
                    old.objects, old.instances, inst, source, classes, default_class
                )
                files["instances"] = f"instances.r{rev}.tif"
                atomic_write_tiff(folder / files["instances"], inst)
            if phases is not None:
                files["phases"] = f"phases.r{rev}.tif"
                atomic_write_tiff(folder / files["phases"], np.asarray(phases, dtype=np.uint8))
            if boxes is not None:
                new_boxes = prov.update_boxes(old.boxes, boxes, source)
            files["objects"] = f"objects.r{rev}.json"
            atomic_write_json(folder / files["objects"], {"objects": objects, "boxes": new_boxes})
            rec["files"] = files
            rec["rev"] = rev
            rec["saved"] = prov.now()
            self._commit()
            self._collect_garbage(image_id)
            return rev

    def _collect_garbage(self, image_id: str | None = None) -> None:
        """Delete label files the manifest no longer references (old revisions, orphans)."""
        ids = [image_id] if image_id else self.image_ids
        for iid in ids:
            folder = self.root / "labels" / iid
            if not folder.is_dir():
                continue
            keep = set(self._record(iid).get("files", {}).values())
            for path in folder.iterdir():
                if path.is_file() and path.name not in keep:
                    try:
                        path.unlink()
                    except OSError:
                        pass
