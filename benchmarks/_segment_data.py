"""The shared real micrographs of the segmentation benchmark: fixed splits, read as pairs.

Read from ``$REAL_MICROGRAPHS`` or ``../shared/real_micrographs/``; never committed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

DATA = Path(
    os.environ.get(
        "REAL_MICROGRAPHS", Path(__file__).resolve().parents[2] / "shared" / "real_micrographs"
    )
)
NI = "ni_superalloy_gamma_prime"
TINT = "tint_etched_grain_boundaries"
NI_CLASSES = ["matrix", "large gamma-prime", "fine gamma-prime"]
NI_ONE = "spot3_0d_3"
TINT_TEST_FROM = 25
PARTS = ("ni_all", "ni_one", "ni_baseline", "tint", "tint_builtin")


def read_image(path: Path) -> np.ndarray:
    from skimage.io import imread

    return np.asarray(imread(path))


def ni_pairs(prefixes: tuple[str, ...]):
    from napari_microstructure.core.segment import make_pair

    out = []
    for img in sorted((DATA / NI / "images").glob("*.png")):
        if img.stem.startswith(prefixes):
            mask = read_image(DATA / NI / "labels" / f"{img.stem}_label.png")
            out.append(make_pair(read_image(img), mask, "phases", 1, img.stem))
    return out


def tint_pairs(test: bool):
    from napari_microstructure.core.segment import make_pair

    out = []
    for img in sorted((DATA / TINT / "images").glob("*.png")):
        if (int(img.stem.split("-")[0]) >= TINT_TEST_FROM) == test:
            mask = read_image(DATA / TINT / "masks" / img.name)
            out.append(make_pair(read_image(img), mask, "boundaries", 3, img.stem))
    return out


def split_by_source(pairs, fraction: float, seed: int):
    """Train/validation split of tint crops by whole source images (``<source>-<row>-<col>``).

    Sources drawn in a seeded order until ``fraction`` of the crops are held out: the
    validation crops then come from images never seen in training, as the test crops do.
    """
    sources = sorted({p.name.split("-")[0] for p in pairs})
    held: set[str] = set()
    for s in np.random.default_rng(seed).permutation(sources):
        if sum(p.name.split("-")[0] in held for p in pairs) >= fraction * len(pairs):
            break
        held.add(str(s))
    train = [p for p in pairs if p.name.split("-")[0] not in held]
    val = [p for p in pairs if p.name.split("-")[0] in held]
    return train, val


def zoomed(pair, zoom: int):
    """The pair on a ``zoom`` times finer grid (image bicubic, mask by pixel repetition)."""
    from skimage.transform import rescale

    from napari_microstructure.core.segment.data import Pair

    image = np.stack([rescale(c, zoom, order=3) for c in pair.image]).astype(np.float32)
    mask = np.repeat(np.repeat(pair.mask, zoom, 0), zoom, 1)
    return Pair(image, mask, pair.name)
