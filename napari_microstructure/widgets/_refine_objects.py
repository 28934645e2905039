"""The objects a Refine session edits in its Labels layer: ids, proposed masks, undo history.

Every object painted by a click or a box gets an entry in the history (its label id and the
paint records that changed the layer), so "undo object" can put back exactly what was there
before, including the earlier mask of an object that a new prompt edited. On a stack an
object lies on the plane it was begun on (the third item of its entry).

An object begun at a click on the background gets an id no object has, before its mask is
computed (seconds, while the image is prepared). Pixels painted by hand meanwhile with that id
(napari's brush) are never taken into the object nor erased: its mask then goes under a new id,
and a later mask replaces only the pixels its own earlier masks painted.

A prompt that edits an existing object keeps that object's class unless the dock's class field
was changed since the object was made (or since the dock first opened it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._layers import labels_edit as LE
from .._layers.label_dtype import fits

Entry = Any  # [label id, paints (list of LE.PaintRecord), plane]; identity tells it apart


class ObjectEditor:
    """Current object, its proposed masks (best first) and the undo history of one layer."""

    def __init__(self) -> None:
        self.labels: Any = None  # the napari Labels layer the objects are painted into
        self.current: int | None = None
        self.masks: np.ndarray | None = None
        self.scores: np.ndarray | None = None
        self.choice = 0
        self.engine = ""  # the engine that proposed ``masks``
        self.history: list[Entry] = []
        self.field_at: dict[int, str] = {}  # the class field when each object was made
        self._field_before: dict[int, dict[int, str | None]] = {}  # per entry, for its undo
        self._reserved: set[int] = set()  # ids of entries begun under a new id (not a hit)
        self._sealed: set[int] = set()  # ids of entries a segment-all replaced: undo only

    @property
    def plane(self) -> tuple[int, ...] | None:
        """The plane of the object being edited (None when no object is open)."""
        entry = self.entry
        return None if entry is None else entry[2]

    @property
    def entry(self) -> Entry | None:
        """The undo entry of the object being edited (None when no object is open)."""
        return self.history[-1] if self.current is not None and self.history else None

    def free_id(self) -> int:
        """A label id for a new object: unused in the layer and not handed out to an object
        whose mask is still being computed."""
        taken = max((label for label, *_ in self.history), default=0)
        return max(LE.next_label(self.labels), taken + 1)

    def begin(
        self, row: float, col: float, plane: tuple[int, ...] = (), field: str = "object"
    ) -> int:
        """Open an object at a positive click on ``plane``: the label under it, else a new id.

        ``field`` is the dock's class field now (see :meth:`class_for`).
        """
        if self.current is None:
            hit = LE.label_at(self.labels, row, col, plane)
            self.current = hit or self.free_id()
            self.history.append([self.current, [], tuple(plane)])
            if not hit:
                self._reserved.add(id(self.history[-1]))
                self._brush_past(self.current)
            if not hit or hit not in self.field_at:
                self._set_field(self.history[-1], self.current, field)
        return self.current

    def _brush_past(self, label: int) -> None:
        """Move napari's brush off ``label``, just handed out (its mask is yet to come), where
        the layer's dtype holds the next id (napari refuses others; a layer is widened only to
        write an id: 12 s for a 20000 x 20000 px montage)."""
        if getattr(self.labels, "selected_label", None) == label:
            if fits(self.labels.data.dtype, label + 1):
                self.labels.selected_label = label + 1

    def own_id(self, entry: Entry) -> int:
        """The id of the object of ``entry``: a new one if the id it was given is held by
        pixels painted by hand before its first mask (those stay as they are)."""
        label = entry[0]
        if id(entry) in self._reserved and not entry[1]:
            if bool((np.asarray(self.labels.data) == label).any()):
                new = self.free_id()
                entry[0] = new
                if self.current == label and self.entry is entry:
                    self.current = new
                self._move_field(entry, label, new)
                self._brush_past(new)
        return entry[0]

    def _move_field(self, entry: Entry, old: int, new: int) -> None:
        """The class field recorded for ``entry``'s object moves from id ``old`` to ``new``."""
        before = self._field_before.get(id(entry), {})
        if old not in before:
            return
        value = self.field_at.pop(old, None)
        previous = before.pop(old)
        if previous is not None:
            self.field_at[old] = previous
        if value is not None:
            self._set_field(entry, new, value)

    def _set_field(self, entry: Entry, label: int, field: str) -> None:
        """Record the class field for ``label``, remembering the old value for ``entry``'s undo."""
        self._field_before.setdefault(id(entry), {}).setdefault(label, self.field_at.get(label))
        self.field_at[label] = field

    def class_for(self, label: int, field: str) -> str:
        """The class a prompt gives object ``label``: its own class, unless the class field
        (``field``) changed since the object was made; then the field's."""
        own = LE.class_of(self.labels, label)
        if own is not None and self.field_at.get(label) == field:
            return own
        entry = self.entry
        if entry is not None and entry[0] == label:
            self._set_field(entry, label, field)
        else:
            self.field_at[label] = field
        return field

    def drop(self, entry: Any) -> None:
        """Forget an object that got no mask (its preparation or prediction failed): it leaves
        no step in the undo history and gives its id back."""
        if entry[1] or not self.is_alive(entry):
            return
        if self.entry is entry:
            self.close()
        self.history = [e for e in self.history if e is not entry]
        self._restore_fields(entry)
        self._reserved.discard(id(entry))

    def is_alive(self, entry: Any) -> bool:
        """True if the object of this undo entry takes masks: not undone, nor replaced by a
        segment-all since (its entry is then kept for the undo only)."""
        return id(entry) not in self._sealed and any(e is entry for e in self.history)

    def propose(self, masks: np.ndarray, scores: np.ndarray, class_name: str, engine: str) -> None:
        """Masks proposed for the current object: paint the best one."""
        self.masks, self.scores, self.choice, self.engine = masks, scores, 0, engine
        self.show_choice(class_name, engine)

    def paint(
        self, entry: Any, mask: np.ndarray, class_name: str, score: float, engine: str
    ) -> None:
        """Paint ``mask`` as the object of ``entry`` (recorded for its undo)."""
        label, own = self.own_id(entry), None
        if id(entry) in self._reserved:  # only what its own masks painted is replaced
            own = LE.written_by(entry[1], label, mask.shape)
        rec = LE.paint_object(self.labels, mask, label, class_name, score, engine, entry[2], own)
        if rec is not None:
            entry[1].append(rec)

    def show_choice(self, class_name: str, engine: str) -> None:
        """Paint the chosen proposal as the current object (``class_name``: the class field)."""
        if self.masks is None or self.entry is None or not len(self.masks):
            return
        score = float(self.scores[self.choice])
        cls = self.class_for(self.own_id(self.entry), class_name)
        self.paint(self.entry, self.masks[self.choice], cls, score, engine)

    def cycle(self, class_name: str) -> bool:
        """Show the next proposal (of the engine that proposed them); False when there is no
        other."""
        if self.masks is None or len(self.masks) < 2:
            return False
        self.choice = (self.choice + 1) % len(self.masks)
        self.show_choice(class_name, self.engine)
        return True

    def add_box_masks(
        self,
        found: list,
        classes: list[str],
        engine: str,
        plane: tuple[int, ...] = (),
        field: str | None = None,
        boxes: Any = None,
    ) -> int:
        """Paint the masks refined from boxes (``core.refine.batch.BoxMask``) as new objects,
        in one write to the layer, each under a new id (not one handed out to an object whose
        mask is still being computed), with one undo step per object; ``field`` is the class
        field when they were made (default each box's class). Each object records the box it
        was refined from (row ``bm.index`` of ``boxes``: pixel x1, y1, x2, y2) in the layer's
        features (``LE.BOX_COLUMNS``): Curate takes that box as the object, not a second one.
        Returns how many objects were painted (a mask lying on existing objects paints
        nothing: they are never overwritten)."""
        if not found:
            return 0
        names = [str(classes[bm.index]) for bm in found]
        values = [
            {"class_name": name, "score": float(bm.score), "engine": engine}
            for name, bm in zip(names, found, strict=True)
        ]
        if boxes is not None:
            xyxy = np.asarray(boxes, dtype=float).reshape(-1, 4)
            for vals, bm in zip(values, found, strict=True):
                vals.update(zip(LE.BOX_COLUMNS, map(float, xyxy[bm.index]), strict=True))
        pieces = [(bm.window, bm.mask) for bm in found]
        records = LE.paint_new_objects(self.labels, pieces, self.free_id(), values, tuple(plane))
        for name, rec in zip(names, records, strict=True):
            if rec is not None:
                entry: Entry = [rec.label, [rec], tuple(plane)]
                self.history.append(entry)
                self._set_field(entry, rec.label, name if field is None else field)
        return sum(rec is not None for rec in records)

    def close(self) -> None:
        """Keep the current object; the next positive click opens a new one."""
        self.current, self.masks, self.scores = None, None, None

    def undo(self) -> bool:
        """Remove the last object (or restore the object it edited); False if none."""
        if not self.history:
            return False
        entry = self.history.pop()
        for rec in reversed(entry[1]):
            LE.undo_paint(self.labels, rec)
        self._restore_fields(entry)
        self._reserved.discard(id(entry))
        self._sealed.discard(id(entry))
        self.close()
        return True

    def _restore_fields(self, entry: Entry) -> None:
        for label, old in self._field_before.pop(id(entry), {}).items():
            if old is None:
                self.field_at.pop(label, None)
            else:
                self.field_at[label] = old

    def replace_all(
        self, labels: np.ndarray, class_name: str, engine: str, plane: tuple[int, ...] = ()
    ) -> int:
        """Replace the layer's ``plane`` (segment-all) as one more undo step: **u** puts the
        plane back as it was, and the steps before it stay (LIFO, so each finds its pixels as
        it left them). Returns how many objects the plane held before."""
        self.close()
        here = [e for e in self.history if e[2] == tuple(plane)]  # (other planes: untouched)
        for waiting in [e for e in here if not e[1]]:  # no mask yet: it would land on grains
            self.drop(waiting)
        self._sealed.update(id(e) for e in here if e[1])  # later masks would land on grains
        record = LE.set_all_labels(self.labels, labels, class_name, engine, plane)
        made = np.unique(record.after)
        entry: Entry = [0, [record], tuple(plane)]
        self.history.append(entry)
        for i in made[made > 0]:
            self._set_field(entry, int(i), class_name)
        held = pd.unique(record.before.ravel())  # (hashed: 0.25 s for 8000 x 8000 px)
        return int(np.count_nonzero(held))

    def reset(self) -> None:
        """Forget all objects (the layer was replaced as a whole)."""
        self.close()
        self.history.clear()
        self.field_at.clear()
        self._field_before.clear()
        self._reserved.clear()
        self._sealed.clear()
