"""Labels of a project's images: instance and phase label revisions with per-object provenance.

A mixin of :class:`~.project.Project`; see that module for the layout on disk and how a save
commits.
"""

from __future__ import annotations

import json
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_write_json, atomic_write_tiff, is_older, read_tiff
from . import provenance as prov
from .manifest import REVISION_FILE, check_label_ids


@dataclass
class ImageLabels:
    """Everything annotated on one image."""

    instances: np.ndarray | None = None
    phases: np.ndarray | None = None
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    boxes: list[dict[str, Any]] = field(default_factory=list)
    #: records of objects erased since (an undo that brings one back restores its record)
    dropped: dict[str, dict[str, Any]] = field(default_factory=dict)

    def instance_classes(self) -> dict[int, int]:
        """Class id of every instance label."""
        return {int(k): int(v.get("class_id", 0)) for k, v in self.objects.items()}


class LabelStore:
    """Mixin of :class:`~.project.Project`: the labels of its images."""

    root: Path
    _lock: threading.RLock
    image_ids: list[str]

    def _mutate(
        self, collect: str | None = None, follow: str | None = None
    ) -> AbstractContextManager[dict[str, Any]]:
        raise NotImplementedError  # provided by Project

    def _record(self, image_id: str, m: dict[str, Any] | None = None) -> dict[str, Any]:
        raise NotImplementedError  # provided by Project

    def _class_use(self, ids: set[int]) -> dict[int, int]:
        """Objects and boxes per class id of ``ids``, over all images."""
        used: dict[int, int] = {}
        for iid in self.image_ids if ids else []:
            labels = self.load_labels(iid)
            for rec in [*labels.objects.values(), *labels.boxes]:
                cid = int(rec.get("class_id", 0))
                if cid in ids:
                    used[cid] = used.get(cid, 0) + 1
        return used

    def load_labels(self, image_id: str) -> ImageLabels:
        """The labels of one image as last saved."""
        folder = self.root / "labels" / image_id
        out = ImageLabels()
        with self._lock:  # a save of this object deletes the files it replaces
            files = dict(self._record(image_id).get("files", {}))
            if "instances" in files:
                out.instances = read_tiff(folder / files["instances"])
            if "phases" in files:
                out.phases = read_tiff(folder / files["phases"])
            if "objects" in files:
                data = json.loads((folder / files["objects"]).read_text("utf-8"))
                out.objects = data.get("objects", {})
                out.boxes = data.get("boxes", [])
                out.dropped = data.get("dropped", {})
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
        follow: bool = False,
    ) -> int:
        """Save new labels of an image (``None`` keeps what is stored) and return the revision.

        Provenance is updated by comparing with the stored labels: see
        :func:`~.provenance.update_objects` and :func:`~.provenance.update_boxes`. ``classes``
        alone re-classes stored objects (an edit by ``source``, like a pixel edit).

        ``follow``: when another object (window, program) saved the project since this one
        read it, save over its commit if that left this image's record, the ``editing`` one's
        (see :class:`~.project.Project`) and the classes as they are here (it saved or added
        other images); else, as without, refuse.

        Raises
        ------
        ValueError : wrong shape, label ids outside 0..4294967295, phase ids outside 0..255,
            or ``classes`` naming objects that are not stored. Nothing is written then.
        StaleProjectError : another object saved the project since (see ``follow``).
        """
        with self._mutate(collect=image_id, follow=image_id if follow else None) as m:
            rec = self._record(image_id, m)
            shape = tuple(rec["shape"])
            for what, arr in (("instances", instances), ("phases", phases)):
                if arr is not None and tuple(np.shape(arr)) != shape:
                    raise ValueError(f"{what} shape {np.shape(arr)} != image shape {shape}")
            inst = None if instances is None else check_label_ids(instances)
            phases = None if phases is None else check_label_ids(phases, "phases")
            old = self.load_labels(image_id)
            if inst is None and classes:
                missing = sorted(set(map(int, classes)) - set(map(int, old.objects)))
                if old.instances is None or missing:
                    raise ValueError(f"cannot re-class objects {missing}: not in the labels")
                inst = old.instances  # same pixels: only the classes change
            rev = int(rec.get("rev", 0)) + 1
            folder = self.root / "labels" / image_id
            files = dict(rec.get("files", {}))
            objects, new_boxes, dropped = old.objects, old.boxes, dict(old.dropped)
            if inst is not None:
                objects = prov.update_objects(
                    old.objects, old.instances, inst, source, classes, default_class, dropped
                )
                if instances is not None:
                    files["instances"] = f"instances.r{rev}.tif"
                    atomic_write_tiff(folder / files["instances"], inst)
            if phases is not None:
                files["phases"] = f"phases.r{rev}.tif"
                atomic_write_tiff(folder / files["phases"], phases)
            if boxes is not None:
                new_boxes = prov.update_boxes(old.boxes, boxes, source)
            files["objects"] = f"objects.r{rev}.json"
            record = {"objects": objects, "boxes": new_boxes, "dropped": dropped}
            atomic_write_json(folder / files["objects"], record)
            rec["files"] = files
            rec["rev"] = rev
            rec["saved"] = prov.now()
        return rev

    def _collect_garbage(self, image_id: str | None = None, older_than: float = 0.0) -> None:
        """Delete revision files the manifest does not reference (old revisions, orphans).

        ``older_than`` (seconds) spares newer files: another object's save may be writing them.
        """
        ids = [image_id] if image_id else self.image_ids
        for iid in ids:
            folder = self.root / "labels" / iid
            if not folder.is_dir():
                continue
            keep = set(self._record(iid).get("files", {}).values())
            for path in folder.iterdir():
                if (
                    path.name not in keep
                    and REVISION_FILE.fullmatch(path.name)
                    and path.is_file()
                    and is_older(path, older_than)
                ):
                    try:
                        path.unlink()
                    except OSError:
                        pass
