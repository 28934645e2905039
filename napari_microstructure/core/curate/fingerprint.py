"""A label array's fingerprint: whether it changed, told without keeping a copy of it.

Autosave compares what a layer holds with what it last saved. A copy of every labels layer
doubled their memory and, for a 20000 x 20000 px montage, took 4 s to make (a fresh 1.6 GB
array); its fingerprint takes 0.4 s and a few bytes.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

_ROWS = 1 << 22  # values per block read as uint32 (16 MB): a uint8 layer is not copied whole


@dataclass(frozen=True)
class Fingerprint:
    """Shape and two checksums (CRC-32 and Adler-32) of the values as uint32."""

    shape: tuple[int, ...]
    crc: int
    adler: int


def fingerprint(labels: np.ndarray) -> Fingerprint:
    """The fingerprint of a label array's values (the same for any integer dtype that holds
    them: a uint8 and a uint32 array of equal values match)."""
    arr = np.asarray(labels)
    flat = arr.reshape(-1)
    crc, adler = 0, 1
    for start in range(0, flat.size, _ROWS):
        block = np.ascontiguousarray(flat[start : start + _ROWS], dtype=np.uint32)
        crc, adler = zlib.crc32(block, crc), zlib.adler32(block, adler)
    return Fingerprint(tuple(int(s) for s in arr.shape), crc, adler)
