"""Tiles in ORIGINAL image coordinates, each resampled to the model's grid when it is run.

Working tile by tile from the original image (instead of resampling the whole image first)
keeps memory bounded on large montages, and every tile map is resized straight back onto the
original pixel grid.
"""

from __future__ import annotations

from dataclasses import dataclass

from .geometry import Window, object_window, tile_windows


@dataclass(frozen=True)
class Tile:
    """One network input: ``window`` of the original image, enlarged by ``factor``."""

    window: Window
    factor: float

    @property
    def y0(self) -> int:
        return self.window.y0

    @property
    def x0(self) -> int:
        return self.window.x0

    @property
    def y1(self) -> int:
        return self.window.y1

    @property
    def x1(self) -> int:
        return self.window.x1

    @property
    def model_shape(self) -> tuple[int, int]:
        """Shape of the resampled crop fed to the network (before stride padding)."""
        h, w = self.window.shape
        if abs(self.factor - 1.0) < 1e-6:
            return h, w
        return max(1, round(h * self.factor)), max(1, round(w * self.factor))

    @property
    def ramp(self) -> int:
        """Blending ramp in original pixels (a tenth of the tile)."""
        return max(1, min(self.window.shape) // 10)

    def to_model(self, box_xyxy: tuple[float, float, float, float]) -> tuple[float, ...]:
        """A box from original image coordinates to this tile's network input coordinates."""
        mh, mw = self.model_shape
        sy, sx = mh / self.window.shape[0], mw / self.window.shape[1]
        x1, y1, x2, y2 = box_xyxy
        return ((x1 - self.x0) * sx, (y1 - self.y0) * sy, (x2 - self.x0) * sx, (y2 - self.y0) * sy)


def _tile_size(imgsz: int, factor: float) -> int:
    return max(32, int(imgsz / factor))


def image_tiles(
    shape: tuple[int, int], imgsz: int, factor: float, overlap: float = 0.2
) -> list[Tile]:
    """Tiles covering an image of ``shape`` for a model of input ``imgsz`` at ``factor``."""
    size = _tile_size(imgsz, factor)
    return [Tile(w, factor) for w in tile_windows(shape, size, int(size * overlap))]


def detection_tiles(
    box_xyxy: tuple[float, float, float, float], shape: tuple[int, int], imgsz: int, factor: float
) -> list[Tile]:
    """The tiles of detection's default grid (:func:`..detect.tiling.tile_grid`) that hold the
    box whole (original coordinates), farthest from its edges first; empty when none does."""
    from ..detect.tiling import tile_grid

    x1, y1, x2, y2 = box_xyxy
    found = []
    for t in tile_grid(shape, round(imgsz / factor), round((imgsz // 4) / factor)):
        margin = min(x1 - t.x0, y1 - t.y0, t.x1 - x2, t.y1 - y2)
        if margin >= 0:
            found.append((margin, Tile(Window(t.y0, t.x0, t.y1, t.x1), factor)))
    # stable sort: of equal margins the first in grid order, as before
    return [t for _, t in sorted(found, key=lambda item: -item[0])]


def object_tile(
    box_xyxy: tuple[float, float, float, float], shape: tuple[int, int], imgsz: int, factor: float
) -> Tile:
    """The tile one object is explained in when its confidence is unknown (original
    coordinates): of the :func:`detection_tiles` the one that holds the box farthest from its
    edges; a tile centred on the object where no detection tile holds the box whole."""
    tiles = detection_tiles(box_xyxy, shape, imgsz, factor)
    if tiles:
        return tiles[0]
    return Tile(object_window(box_xyxy, shape, _tile_size(imgsz, factor)), factor)
