"""Classify dock parts: the examples added from the viewer (listed, removable), the reading
of their pixels and of the classified image in the worker, and the folder table's rows."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from magicgui.widgets import ComboBox, Container, PushButton

from .._layers.plane import plane_hidden
from .._layers.plane_source import PlaneSource, read_pixels

if TYPE_CHECKING:
    from ..core.classify import Sample
    from ..core.progress import Progress


def read_examples(samples: list[Sample]) -> Generator[Progress, None, list[Sample]]:
    """``samples`` with the pixels of the examples added from the viewer read (in the worker)."""
    out = []
    for sample in samples:
        out.append(replace(sample, image=(yield from read_pixels(sample.image))))
    return out


class AddedExamples:
    """The images added from the viewer, and the dock's row (``row``) that lists them with
    Remove and Clear; hidden while there are none."""

    def __init__(self) -> None:
        self._samples: list[Sample] = []
        self._menu = ComboBox(label="added", choices=self._choices)
        self._menu.tooltip = "Images added from the viewer; trained together with the folder"
        self._remove = PushButton(text="Remove")
        self._remove.tooltip = "Take the chosen example out of the training set"
        self._clear = PushButton(text="Clear")
        self._clear.tooltip = "Take every added example out of the training set"
        self.row = Container(
            widgets=[self._menu, self._remove, self._clear],
            layout="horizontal",
            labels=False,
            visible=False,
        )
        self._remove.changed.connect(lambda: self.remove(self.chosen))
        self._clear.changed.connect(self.clear)

    def _choices(self, _widget: object = None) -> list[tuple[str, int]]:
        return [
            (f"{i + 1}. {s.name or 'image'} → {s.label}", i) for i, s in enumerate(self._samples)
        ]

    @property
    def samples(self) -> list[Sample]:
        return list(self._samples)

    @property
    def classes(self) -> list[str]:
        return [s.label for s in self._samples]

    @property
    def chosen(self) -> int | None:
        """Index of the example the list shows."""
        return self._menu.value

    def name_problem(self, label: str, folder: Path | None) -> str | None:
        """Why ``label`` cannot be added (reserved, or a near-copy of a class of ``folder`` or
        of an added example); None when it can."""
        from ..core.classify import class_folders
        from ..core.classify.model import class_name_problem

        existing = self.classes
        if folder is not None:
            try:
                existing += list(class_folders(folder))
            except (ValueError, OSError):
                pass  # no usable folder (yet): training says why
        return class_name_problem(label, existing)

    def add_layer(
        self, layer: Any, label: str, folder: Path | None, default_ps: float | None
    ) -> str | None:
        """Add the plane on screen of image ``layer`` as an example of ``label``, unread (the
        training worker reads it: :func:`read_examples`); returns why it was not added (None
        when it was)."""
        from .._layers import layer_pixel_size
        from ..core.classify import Sample

        if layer is None or not label:
            return "choose an image and type its class first."
        if hidden := plane_hidden(layer):
            return hidden
        problem = self.name_problem(label, folder)
        if problem:
            return f"not added: {problem}."
        ps = layer_pixel_size(layer) or default_ps
        if ps is None:
            return "the image has no pixel size; set it (Pixel size dock) or give a default µm/px."
        self.add(Sample(PlaneSource.of(layer), label, float(ps), layer.name))
        return None

    def _update(self) -> None:
        self._menu.reset_choices()
        if self._samples:
            self._menu.value = len(self._samples) - 1
        self._clear.text = f"Clear ({len(self._samples)})"
        self.row.visible = bool(self._samples)

    def add(self, sample: Sample) -> None:
        self._samples.append(sample)
        self._update()

    def remove(self, index: int | None) -> Sample | None:
        """Take out the example at ``index``; returns it (None when there is none)."""
        if index is None or not 0 <= index < len(self._samples):
            return None
        sample = self._samples.pop(index)
        self._update()
        return sample

    def clear(self) -> int:
        """Take out every example; returns how many there were."""
        n = len(self._samples)
        self._samples.clear()
        self._update()
        return n


def folder_work(folder: Path) -> tuple[list[Path], Any] | str:
    """The images of ``folder`` and their pixel sizes (``pixel_sizes.json``) for "Classify
    folder", or why it cannot be classified."""
    from ..core.classify import folder_pixel_sizes, images_in

    try:
        paths, sizes = images_in(folder), folder_pixel_sizes(folder)
    except ValueError as exc:
        return str(exc)
    return (paths, sizes) if paths else f"no images in {folder}."


def folder_rows(df: pd.DataFrame, folder: Path | None) -> tuple[list[list], list[str]]:
    """The folder table's rows and columns: the file as its path relative to ``folder`` (two
    ``a.png`` of different sub-folders stay apart), numbers with three decimals."""
    cols = [
        "file",
        "predicted",
        *[c for c in df.columns if c not in ("file", "predicted", "note")],
        "note",
    ]

    def shown(path: str) -> str:
        p = Path(path)
        if folder is not None and p.is_relative_to(folder):
            return p.relative_to(folder).as_posix()
        return p.name

    rows = [
        [
            shown(r["file"])
            if c == "file"
            else (f"{r[c]:.3f}" if isinstance(r[c], float) and np.isfinite(r[c]) else r[c])
            for c in cols
        ]
        for _, r in df.iterrows()
    ]
    return rows, cols
