"""Training pairs (image, mask) from folders or arrays, checked and converted for the network."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..image_utils import first_plane, is_rgb, to_float01, to_gray
from ..imageio import SUPPORTED_SUFFIXES
from .augment import IGNORE

IMAGE_SUFFIXES = SUPPORTED_SUFFIXES  # the files read_micrograph reads
MASK_TAGS = ("", "_label", "_labels", "_mask", "_masks", "_gt", "-label", "-mask")

log = logging.getLogger(__name__)


#: Pixel sizes within this relative difference count as the same (no resampling).
SAME_PIXEL_SIZE = 0.01


@dataclass
class Pair:
    """One annotated image: ``image`` ``(C, H, W)`` float32 in [0, 1], ``mask`` uint8 classes,
    ``pixel_size`` µm/px (None: not known)."""

    image: np.ndarray
    mask: np.ndarray
    name: str = ""
    pixel_size: float | None = None

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
        raise ValueError(
            f"phase class indices must be between 0 and 254, got {m.min(initial=0):g} to "
            f"{m.max(initial=0):g}: a label image of one id per grain is not a phase map (to "
            "learn grains, train the 'boundaries' task on it)"
        )
    return m.astype(np.uint8)


def make_pair(
    image: np.ndarray,
    mask: np.ndarray,
    task: str,
    in_channels: int,
    name: str = "",
    pixel_size: float | None = None,
) -> Pair:
    """Check shapes and convert one image/mask pair."""
    image = np.asarray(image)
    cls = mask_to_classes(mask, task)
    check_same_size(image, cls, name)
    return Pair(image_channels(image, in_channels), cls, name, pixel_size)


def check_same_size(image: np.ndarray, mask: np.ndarray, name: str = "") -> None:
    """Refuse a mask whose height and width are not its image's."""
    if tuple(image.shape[:2]) != tuple(mask.shape[:2]):
        raise ValueError(
            f"{name or 'image'}: mask shape {tuple(mask.shape[:2])} differs from image shape "
            f"{tuple(image.shape[:2])}"
        )


def with_channels(pairs: list[Pair], in_channels: int) -> list[Pair]:
    """``pairs`` with the channel count a network takes (grey repeated, or colour to grey)."""
    out = []
    for p in pairs:
        if p.image.shape[0] != in_channels:
            hwc = np.moveaxis(p.image, 0, -1)
            image = image_channels(hwc[..., 0] if hwc.shape[-1] == 1 else hwc, in_channels)
            p = Pair(image, p.mask, p.name, p.pixel_size)
        out.append(p)
    return out


def n_classes_in(pairs: list[Pair]) -> int:
    """Number of classes needed to hold every annotated value (at least 2)."""
    top = max(int(p.mask[p.mask != IGNORE].max(initial=0)) for p in pairs)
    return max(2, top + 1)


def untaught_classes(pairs: list[Pair], task: str) -> list[int]:
    """The classes below the highest one of a phase annotation without an annotated pixel (a
    pixel classes layer of scribbles, numbered from 1, has no class 0); [] for boundaries, or
    a single class (:func:`check_annotated` refuses it)."""
    if task != "phases":
        return []
    counts = sum(np.bincount(p.mask[p.mask != IGNORE], minlength=256) for p in pairs)
    if np.count_nonzero(counts) < 2:
        return []
    return [k for k in range(n_classes_in(pairs)) if not counts[k]]


def unannotated_note(pairs: list[Pair], task: str) -> str | None:
    """A warning for a phase annotation without a pixel of a class below its highest one
    (:func:`untaught_classes`); None when it has all."""
    missing = untaught_classes(pairs, task)
    if not missing:
        return None
    which = f"class{'es' if len(missing) > 1 else ''} {', '.join(map(str, missing))}"
    hint = ""
    if 0 in missing:
        hint = " Classes are numbered from 0 (a pixel classes layer numbers them from 1)."
    return (
        f"the annotation holds no pixel of {which}: the model gets an output for it, which "
        f"nothing teaches, so it is never predicted and the validation score leaves it out.{hint}"
    )


def check_annotated(pairs: list[Pair], task: str) -> None:
    """Refuse annotations that cannot teach anything (no line drawn, a single class)."""
    if task == "boundaries":
        if not any(bool((p.mask == 1).any()) for p in pairs):
            raise ValueError(
                "the annotation marks no grain-boundary pixels: draw the boundaries (non-zero "
                "lines in a Labels layer, bright lines in mask files) to train on"
            )
        return
    present = set()
    for p in pairs:
        present.update(np.unique(p.mask[p.mask != IGNORE]).tolist())
    if len(present) < 2:
        what = f"only class {present.pop()}" if present else "no annotated pixel"
        hint = ""
        if any(bool((p.mask == IGNORE).any()) for p in pairs):
            hint = (
                f"; a mask of 0 and {IGNORE} marks {IGNORE} as not annotated: write class "
                "indices 0, 1, ..."
            )
        raise ValueError(
            f"the annotation holds {what}: a phase model needs at least two classes "
            f"annotated{hint}"
        )


def class_names(names: list[str] | None, n: int) -> list[str]:
    """``names`` followed by "class k" for every class index from its length up to ``n``."""
    names = list(names or [])
    return names + [f"class {k}" for k in range(len(names), n)]


def find_pairs(images_dir: str | Path, masks_dir: str | Path) -> list[tuple[Path, Path]]:
    """Match images to masks by file name (a mask may add ``_label``, ``_mask``... to the stem).

    A file never pairs with itself; in one folder for both, the masks of other files are not
    images. Images without a mask are left out with a logged warning.

    Raises
    ------
    ValueError : a folder is missing, empty, or no image has a mask.
    """
    images_dir, masks_dir = Path(images_dir), Path(masks_dir)
    for d in (images_dir, masks_dir):
        if not d.is_dir():
            raise ValueError(f"folder not found: {d}")
    masks = {p.stem.lower(): p for p in _image_files(masks_dir)}
    images = _image_files(images_dir)
    if images_dir.resolve() == masks_dir.resolve():
        stems = {p.stem.lower() for p in images}
        images = [p for p in images if not _names_mask_of(p.stem.lower(), stems)]
    pairs, alone = [], []
    for img in images:
        found = (masks.get(img.stem.lower() + tag) for tag in MASK_TAGS)
        mask = next((m for m in found if m is not None and m.resolve() != img.resolve()), None)
        if mask is None:
            alone.append(img.name)
        else:
            pairs.append((img, mask))
    if not pairs:
        raise ValueError(
            f"no image in {images_dir} has a mask of the same name in {masks_dir} "
            "(a mask may be named like the image, or with _label / _mask added)"
        )
    if alone:
        more = ", ..." if len(alone) > 3 else ""
        log.warning(
            "%d image(s) in %s have no mask in %s and are left out: %s%s",
            len(alone),
            images_dir,
            masks_dir,
            ", ".join(alone[:3]),
            more,
        )
    return pairs


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _names_mask_of(stem: str, stems: set[str]) -> bool:
    """True when ``stem`` is another stem of ``stems`` with a mask tag added."""
    return any(tag and stem.endswith(tag) and stem[: -len(tag)] in stems for tag in MASK_TAGS)


def read_mask(path: str | Path) -> np.ndarray:
    """A mask file's values: a palette image's indices (not its colours), a 1-bit image's 0
    and 1."""
    from ..imageio import read_micrograph

    return read_micrograph(path, labels=True).data


def load_pairs(
    images_dir: str | Path,
    masks_dir: str | Path,
    task: str,
    in_channels: int | None = None,
    pixel_size: float | None = None,
) -> list[Pair]:
    """Read every matched pair; ``in_channels`` None = 3 if any image is colour, else 1.

    Each image's pixel size is read from its file (``pixel_size`` overrides it for all);
    images of differing pixel sizes are brought to the median of them
    (:func:`to_pixel_size`).
    """
    from ..imageio import read_micrograph

    raw = []
    for img_path, mask_path in find_pairs(images_dir, masks_dir):
        read = read_micrograph(img_path, pixel_size)
        img, mask = first_plane(read.data), read_mask(mask_path)
        check_same_size(img, mask, str(img_path))  # before resampling both to a pixel size
        try:
            mask_to_classes(mask, task)  # refused here, with the file named
        except ValueError as exc:
            raise ValueError(f"{mask_path}: {exc}") from exc
        raw.append((img, mask, str(img_path), read.pixel_size))
    target = common_pixel_size([r[3] for r in raw])
    if target and (bare := [Path(r[2]).name for r in raw if not r[3]]):
        log.warning(  # trained at their own scale beside the others, which were resampled
            "%d image(s) have no pixel size and are trained as they are, not brought to "
            "%g µm/px as the others: %s%s",
            len(bare),
            target,
            ", ".join(bare[:5]),
            ", ..." if len(bare) > 5 else "",
        )
    raw = [(*to_pixel_size(img, mask, ps, target), name, ps) for img, mask, name, ps in raw]
    if in_channels is None:
        in_channels = 3 if any(is_rgb(r[0]) for r in raw) else 1
    return [
        make_pair(img, mask, task, in_channels, name, target if ps else None)
        for img, mask, name, ps in raw
    ]


def common_pixel_size(sizes: list[float | None]) -> float | None:
    """The pixel size a set of images is trained at: the median of the known ones."""
    known = [float(s) for s in sizes if s]
    return float(np.median(known)) if known else None


def pairs_pixel_size(pairs: list[Pair]) -> float | None:
    """The pixel size of training pairs (brought to a common one): the first known."""
    return next((p.pixel_size for p in pairs if p.pixel_size), None)


def to_pixel_size(
    image: np.ndarray, labels: np.ndarray, pixel_size: float | None, target: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """``image`` (area-averaged or bilinear, as float in [0, 1]) and ``labels`` (nearest
    neighbour) resampled from ``pixel_size`` to ``target`` µm/px; unchanged when either is not
    known or they agree within :data:`SAME_PIXEL_SIZE`."""
    if not pixel_size or not target or abs(pixel_size / target - 1) <= SAME_PIXEL_SIZE:
        return image, labels
    h, w = image.shape[:2]
    shape = (max(1, round(h * pixel_size / target)), max(1, round(w * pixel_size / target)))
    method = cv2.INTER_AREA if pixel_size < target else cv2.INTER_LINEAR
    out = cv2.resize(to_float01(image), (shape[1], shape[0]), None, 0, 0, method)
    rows = np.minimum(((np.arange(shape[0]) + 0.5) * h / shape[0]).astype(int), h - 1)
    cols = np.minimum(((np.arange(shape[1]) + 0.5) * w / shape[1]).astype(int), w - 1)
    lab = np.asarray(labels)
    return np.clip(out, 0.0, 1.0), lab[rows[:, None], cols[None, :]]


def split_pairs(
    pairs: list[Pair], val_fraction: float, seed: int, task: str = "phases"
) -> tuple[list[Pair], list[Pair]]:
    """Random train/validation split by image; one image alone is split into two parts (the
    training part at least 8 px across where the image allows). Only images that can score a
    model are drawn for validation: for phases those with an annotated pixel, for boundaries
    those with a line pixel. Fewer than two such images: no validation (all train)."""
    if val_fraction <= 0:
        return pairs, []
    if len(pairs) == 1:
        p = pairs[0]
        h, w = p.mask.shape
        side = max(h, w)
        cut = min(max(int(round(side * (1 - val_fraction))), min(8, side - 1)), side - 1)
        if w >= h:
            a, b = (slice(None), slice(0, cut)), (slice(None), slice(cut, None))
        else:
            a, b = (slice(0, cut), slice(None)), (slice(cut, None), slice(None))
        return (
            [Pair(p.image[(slice(None), *a)], p.mask[a], p.name, p.pixel_size)],
            [Pair(p.image[(slice(None), *b)], p.mask[b], p.name, p.pixel_size)],
        )
    scores = (lambda m: m == 1) if task == "boundaries" else (lambda m: m != IGNORE)
    scorable = [i for i, p in enumerate(pairs) if bool(scores(p.mask).any())]
    if len(scorable) < 2:
        return pairs, []
    order = [scorable[i] for i in np.random.default_rng(seed).permutation(len(scorable))]
    n_val = min(len(scorable) - 1, max(1, int(round(len(pairs) * val_fraction))))
    val = [pairs[i] for i in order[:n_val]]
    unscorable = [p for i, p in enumerate(pairs) if i not in set(scorable)]
    return [pairs[i] for i in order[n_val:]] + unscorable, val
