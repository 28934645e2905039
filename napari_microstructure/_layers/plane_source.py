"""The image a dock reads: the plane on screen, taken from the layer unread, read by the worker.

A lazily loaded layer (dask or zarr backed, an OME-Zarr pyramid) may take seconds to read from
its disk or network store; reading it on the GUI thread would freeze napari. Detect and Refine
keep the layer's data and the plane's index and their workers read the pixels.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.progress import Progress
from .plane import level0, plane_index

#: a lazy plane up to this size is read whole, once (each chunk read once); a larger one is
#: left to detection, which reads it tile by tile
READ_WHOLE_BYTES = 1 << 30


@dataclass(frozen=True)
class PlaneSource:
    """One plane of a layer's full-resolution data, not read yet."""

    data: Any
    plane: tuple[int, ...]

    @classmethod
    def of(cls, layer: Any) -> PlaneSource:
        """The plane of ``layer`` on screen (reads no pixels)."""
        return cls(level0(layer), plane_index(layer))

    @classmethod
    def wrap(cls, image: Any) -> PlaneSource:
        """``image`` itself when a :class:`PlaneSource`, else a 2-D array as one."""
        return image if isinstance(image, PlaneSource) else cls(image, ())

    @property
    def shape(self) -> tuple[int, ...]:
        """``(H, W)`` or ``(H, W, 3|4)``."""
        return tuple(int(n) for n in self.data.shape[len(self.plane) :])

    @property
    def in_memory(self) -> bool:
        """True when the data is a numpy array (or memory map): nothing to wait for."""
        return isinstance(self.data, np.ndarray)

    def read(self) -> Any:
        """The plane as detection takes it; call it in the worker. A lazy plane is read whole
        when it takes at most :data:`READ_WHOLE_BYTES`, else kept lazy (read tile by tile)."""
        part = self.data[self.plane] if self.plane else self.data
        if isinstance(part, np.ndarray):
            return part
        nbytes = math.prod(self.shape) * np.dtype(self.data.dtype).itemsize
        return np.asarray(part) if nbytes <= READ_WHOLE_BYTES else part

    def reading(self) -> Generator[Progress, None, Any]:
        """:meth:`read` in a worker, telling the user while a lazy plane is read."""
        if not self.in_memory:
            yield Progress(0, 1, "reading the image…")
        return self.read()


def read_pixels(source: PlaneSource | np.ndarray) -> Generator[Progress, None, np.ndarray]:
    """The pixels of ``source`` (a layer's plane, or an array) as an array, in a worker,
    telling the user while a lazy plane is read (:meth:`PlaneSource.reading`)."""
    return np.asarray((yield from PlaneSource.wrap(source).reading()))
