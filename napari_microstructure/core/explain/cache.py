"""Saliency results cached per image content + model weights + parameters.

A small in-memory LRU answers repeated requests in a session (switching overlays, re-opening
the dock); it is capped by the bytes it holds (:data:`MEMORY_LIMIT`), not by a count: twelve
4096 x 4096 maps took 768 MiB. Whole-image maps are also written under ``cache_dir()/explain``
so a later session on the same image and model starts from them. That folder is kept under a
size limit (setting ``explain_cache_limit_gib``, default :data:`DEFAULT_LIMIT_GIB`) by removing
the least recently used maps: a 4096 x 4096 map takes 64 MiB.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from threading import Lock
from typing import Any, Generic, TypeVar

import numpy as np

from ..atomic import atomic_file
from ..lru_files import limit_bytes, prune, touch
from ..paths import cache_dir

log = logging.getLogger(__name__)

DEFAULT_LIMIT_GIB = 2.0
LIMIT_SETTING = "explain_cache_limit_gib"
MEMORY_LIMIT = 256 * 2**20  # bytes each in-memory cache holds (beyond it: its newest entry only)

T = TypeVar("T")


def image_key(image: np.ndarray) -> str:
    """Digest of an image's content, shape and dtype."""
    arr = np.ascontiguousarray(image)
    digest = hashlib.sha1(f"{arr.shape}{arr.dtype}".encode())
    digest.update(memoryview(arr).cast("B"))
    return digest.hexdigest()[:20]


def result_key(image: np.ndarray, model_key: str, **params: Any) -> str:
    """Cache key of a result: image content, model identity and the sorted parameters."""
    text = ";".join(f"{k}={params[k]!r}" for k in sorted(params))
    return hashlib.sha1(f"{image_key(image)}|{model_key}|{text}".encode()).hexdigest()[:24]


class BoundedLRU(Generic[T]):
    """Thread-safe LRU capped by entry count and by the bytes its values hold
    (``size_of(value)``); the entry put last is always kept, however large."""

    def __init__(self, maxsize: int, max_bytes: int, size_of: Callable[[T], int]) -> None:
        self.maxsize, self.max_bytes, self._size_of = maxsize, max_bytes, size_of
        self._items: OrderedDict[str, tuple[T, int]] = OrderedDict()
        self._bytes = 0
        self._lock = Lock()

    @property
    def nbytes(self) -> int:
        """The bytes the values held take."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: str) -> T | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key][0]

    def put(self, key: str, value: T) -> None:
        size = int(self._size_of(value))
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (value, size)
            self._bytes += size
            while len(self._items) > 1 and (
                len(self._items) > self.maxsize or self._bytes > self.max_bytes
            ):
                self._bytes -= self._items.popitem(last=False)[1][1]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


class ResultCache:
    """Thread-safe LRU of arrays (at most ``maxsize`` of them and ``max_bytes`` in all, the
    latest always kept), optionally backed by ``.npy`` files."""

    def __init__(
        self, maxsize: int = 12, disk: bool = True, max_bytes: int = MEMORY_LIMIT
    ) -> None:
        self.disk = disk
        self._items: BoundedLRU[np.ndarray] = BoundedLRU(maxsize, max_bytes, _nbytes)

    @property
    def nbytes(self) -> int:
        """The bytes of the arrays held in memory."""
        return self._items.nbytes

    @staticmethod
    def _path(key: str) -> Path:
        folder = cache_dir() / "explain"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        value = self._items.get(key)
        if value is not None:
            return value
        if self.disk:
            path = self._path(key)
            try:
                value = np.load(path, allow_pickle=False)
                touch(path)  # recently used: the last to be pruned
            except (OSError, ValueError):
                return None
            self._items.put(key, value)
            return value
        return None

    def put(self, key: str, value: np.ndarray) -> None:
        self._items.put(key, value)
        if self.disk:
            path = self._path(key)
            try:
                with atomic_file(path) as fh:
                    np.save(fh, value, allow_pickle=False)
                touch(path)
                prune(path.parent, "*.npy", limit_bytes(LIMIT_SETTING, DEFAULT_LIMIT_GIB), path)
            except OSError as exc:  # a full or read-only disk only costs the disk cache
                log.warning("could not write saliency cache %s: %s", path, exc)

    def clear(self) -> None:
        self._items.clear()


def _nbytes(value: np.ndarray) -> int:
    return int(np.asarray(value).nbytes)


CACHE = ResultCache()
