"""Training pairs (image, mask) from folders or arrays, checked and converted for the network."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..image_utils import is_rgb, to_float01, to_gray
from .augment import IGNORE

IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp")
MASK_TAGS = ("", "_label", "_labels", "_mask", "_masks", "_gt", "-label", "-mask")


@dataclass
class Pair:
    """One annotated image: ``image`` ``(C, H, W)`` float32 in [0, 1], ``mask`` uint8 classes."""

    image: np.ndarray
    mask: np.ndarray
    name: str = ""

    def as_tuple(self) -> tuple[np.ndarray, np.ndarray]:
        return self.image, self.mask


def image_channels(image: np.ndarray, in_channels: int) -> np.ndarray:
    """``(C, H, W)`` float32 in [0, 1] with the channel count the network expects."""
    if in_channels == 1:
        return to_gray(image)[None].astype(np.float32)
    rgb = to_float01(image)
    if not is_rgb(rgb):
        rgb = np.repeat(rgb[..., None], 3, axis=-1)
    return np.ascontiguousarray(np.moveaxis(rgb[..., :3], -1, 0), dtype=np.float32)


def mask_to_classes(mask: np.ndarray, task: str) -> np.ndarray:
    """Class index per pixel from an annotation image.

    Boundaries: 1 where the line is drawn (values > 127 in 8-bit masks whose lines are 255,
    any non-zero value in 0/1 masks), else 0. Phases: the integer values as they are (255 marks
    pixels without annotation).
    """
    m = np.asarray(mask)
    if m.ndim == 3:
        if m.shape[-1] in (3, 4) and np.ptp(m[..., :3].astype(np.int32), axis=-1).max() == 0:
            m = m[..., 0]
        else:
            raise ValueError("a mask must be a single-channel image of class indices")
    if task == "boundaries":
        cut = 127 if m.max() > 1 else 0
        return (m > cut).astype(np.uint8)
    if m.dtype.kind == "f" and not np.all(np.mod(m, 1) == 0):
        raise ValueError("a phase mask must hold integer class indices")
    if m.max(initial=0) > 255 or m.min(initial=0) < 0:
        raise ValueError("phase class indices must be between 0 and 254")
    return m.astype(np.uint8)


def make_pair(
    image: np.ndarray, mask: np.ndarray, task: str, in_channels: int, name: str = ""
) -> Pair:
    """Check shapes and convert one image/mask pair."""
    image = np.asarray(image)
    cls = mask_to_classes(mask, task)
    if tuple(image.shape[:2]) != tuple(cls.shape):
        raise ValueError(
            f"{name or 'image'}: mask shape {cls.shape} differs from image shape {image.shape[:2]}"
        )
    return Pair(image_channels(image, in_channels), cls, name)


def n_classes_in(pairs: list[Pair]) -> int:
    """Number of classes needed to hold every annotated value (at least 2)."""
    top = max(int(p.mask[p.mask != IGNORE].max(initial=0)) for p in pairs)
    return max(2, top + 1)


def find_pairs(images_dir: str | Path, masks_dir: str | Path) -> list[tuple[Path, Path]]:
    """Match images to masks by file name (a mask may add ``_label``, ``_mask``... to the stem).

    Raises
    ------
    ValueError : a folder is missing, empty, or no image has a mask.
    """
    images_dir, masks_dir = Path(images_dir), Path(masks_dir)
    for d in (images_dir, masks_dir):
        if not d.is_dir():
            raise ValueError(f"folder not found: {d}")
    masks = {p.stem.lower(): p for p in masks_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES}
    pairs = []
    for img in sorted(images_dir.iterdir()):
        if img.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        for tag in MASK_TAGS:
            found = masks.get(img.stem.lower() + tag)
            if found is not None:
                pairs.append((img, found))
                break
    if not pairs:
        raise ValueError(
            f"no image in {images_dir} has a mask of the same name in {masks_dir} "
            "(a mask may be named like the image, or with _label / _mask added)"
        )
    return pairs


def load_pairs(
    images_dir: str | Path, masks_dir: str | Path, task: str, in_channels: int | None = None
) -> list[Pair]:
    """Read every matched pair; ``in_channels`` None = 3 if any image is colour, else 1."""
    from ..imageio import read_micrograph

    raw = []
    for img_path, mask_path in find_pairs(images_dir, masks_dir):
        img = read_micrograph(img_path).data
        mask = read_micrograph(mask_path).data
        if img.ndim == 4 or (img.ndim == 3 and not is_rgb(img)):
            img = img[0]
        raw.append((img, mask, str(img_path)))
    if in_channels is None:
        in_channels = 3 if any(is_rgb(r[0]) for r in raw) else 1
    return [make_pair(img, mask, task, in_channels, name) for img, mask, name in raw]


def split_pairs(
    pairs: list[Pair], val_fraction: float, seed: int
) -> tuple[list[Pair], list[Pair]]:
    """Random train/validation split by image; one image alone is split into two halves."""
    if val_fraction <= 0:
        return pairs, []
    if len(pairs) == 1:
        p = pairs[0]
        h, w = p.mask.shape
        if w >= h:
            cut = int(round(w * (1 - val_fraction)))
            a, b = (slice(None), slice(0, cut)), (slice(None), slice(cut, None))
        else:
            cut = int(round(h * (1 - val_fraction)))
            a, b = (slice(0, cut), slice(None)), (slice(cut, None), slice(None))
        return (
            [Pair(p.image[(slice(None), *a)], p.mask[a], p.name)],
            [Pair(p.image[(slice(None), *b)], p.mask[b], p.name)],
        )
    order = np.random.default_rng(seed).permutation(len(pairs))
    n_val = min(len(pairs) - 1, max(1, int(round(len(pairs) * val_fraction))))
    val = [pairs[i] for i in order[:n_val]]
    train = [pairs[i] for i in order[n_val:]]
    return train, val
