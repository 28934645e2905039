"""Saliency results cached per image content + model weights + parameters.

A small in-memory LRU answers repeated requests in a session (switching overlays, re-opening
the dock); whole-image maps are also written under ``cache_dir()/explain`` so a later session
on the same image and model starts from them. That folder is kept under a size limit (setting
``explain_cache_limit_gib``, default :data:`DEFAULT_LIMIT_GIB`) by removing the least recently
used maps: a 4096 x 4096 map takes 64 MiB.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from pathlib import Path
from threading import Lock
from typing import Any

import numpy as np

from ..atomic import atomic_file
from ..lru_files import limit_bytes, prune, touch
from ..paths import cache_dir

log = logging.getLogger(__name__)

DEFAULT_LIMIT_GIB = 2.0
LIMIT_SETTING = "explain_cache_limit_gib"


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


class ResultCache:
    """Thread-safe LRU of arrays, optionally backed by ``.npy`` files."""

    def __init__(self, maxsize: int = 12, disk: bool = True) -> None:
        self.maxsize = maxsize
        self.disk = disk
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = Lock()

    @staticmethod
    def _path(key: str) -> Path:
        folder = cache_dir() / "explain"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        if self.disk:
            path = self._path(key)
            try:
                value = np.load(path, allow_pickle=False)
                touch(path)  # recently used: the last to be pruned
            except (OSError, ValueError):
                return None
            self._remember(key, value)
            return value
        return None

    def put(self, key: str, value: np.ndarray) -> None:
        self._remember(key, value)
        if self.disk:
            path = self._path(key)
            try:
                with atomic_file(path) as fh:
                    np.save(fh, value, allow_pickle=False)
                touch(path)
                prune(path.parent, "*.npy", limit_bytes(LIMIT_SETTING, DEFAULT_LIMIT_GIB), path)
            except OSError as exc:  # a full or read-only disk only costs the disk cache
                log.warning("could not write saliency cache %s: %s", path, exc)

    def _remember(self, key: str, value: np.ndarray) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


CACHE = ResultCache()
