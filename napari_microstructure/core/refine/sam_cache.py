"""On-disk cache of SAM image embeddings, keyed by image content and model.

The key hashes the image's pixels, shape and dtype together with the checkpoint fingerprint
(size, mtime, first/last MiB), the model type and the tiling, so an edited image or a replaced
checkpoint can never reuse an old embedding. Files are written to a temporary name and renamed,
so a cancelled or crashed computation leaves no entry behind. The cache is kept under a size
limit (setting ``sam_cache_limit_gib``, default :data:`DEFAULT_LIMIT_GIB`) by removing the
least recently used entries.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..atomic import atomic_file, remove_stale_temps
from ..lru_files import limit_bytes, prune, touch
from ..paths import cache_dir

log = logging.getLogger(__name__)

FORMAT = 1
DEFAULT_LIMIT_GIB = 4.0  # about 1000 single-tile vit_b embeddings
STALE_TEMP_S = 3600.0  # a temp file this old is from a write that was killed


def image_digest(image: np.ndarray) -> str:
    """sha256 of an image's pixels, shape and dtype."""
    arr = np.ascontiguousarray(image)
    h = hashlib.sha256(f"{arr.shape}:{arr.dtype.str}".encode())
    h.update(memoryview(arr).cast("B"))
    return h.hexdigest()


def embedding_key(image: np.ndarray, model_fingerprint: str, model_type: str, tiling: str) -> str:
    """Cache key of one image under one model and tiling."""
    text = f"v{FORMAT}:{image_digest(image)}:{model_fingerprint}:{model_type}:{tiling}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def embeddings_dir() -> Path:
    path = cache_dir() / "sam_embeddings"
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_embeddings(key: str) -> dict[str, Any] | None:
    """The cached entry for ``key`` or None (a damaged file is removed and counts as missing;
    an unusable cache folder counts as an empty cache)."""
    try:
        path = embeddings_dir() / f"{key}.pt"
        if not path.is_file():
            return None
    except OSError as exc:
        log.warning("cannot read the embedding cache: %s", exc)
        return None
    try:
        entry = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(entry, dict) or entry.get("key") != key:
            raise ValueError("key mismatch")
        touch(path)  # recently used: the last to be pruned
        return entry
    except Exception as exc:  # noqa: BLE001 - any unreadable cache file is recomputed
        log.warning("dropping unreadable embedding cache %s: %s", path.name, exc)
        path.unlink(missing_ok=True)
        return None


def save_embeddings(key: str, entry: dict[str, Any]) -> Path:
    """Write ``entry`` for ``key`` atomically; returns the file. Raises ``OSError`` when the
    cache folder cannot take it (full, read-only); nothing is left behind then."""
    folder = embeddings_dir()
    remove_stale_temps(folder, older_than=STALE_TEMP_S)  # left by a killed write
    final = folder / f"{key}.pt"
    try:
        with atomic_file(final) as fh:
            torch.save({**entry, "key": key}, fh)
    except RuntimeError as exc:  # torch reports a full disk as a RuntimeError
        raise OSError(str(exc)) from exc
    touch(final)
    prune_cache(cache_limit(), keep=final)
    return final


def cache_limit() -> int:
    """Bytes the embedding cache may hold (setting ``sam_cache_limit_gib``)."""
    return limit_bytes("sam_cache_limit_gib", DEFAULT_LIMIT_GIB)


def prune_cache(limit: int, keep: Path | None = None) -> list[Path]:
    """Remove the least recently used embeddings until the cache holds at most ``limit``
    bytes; ``keep`` (the entry just written) is never removed. Returns the removed files."""
    return prune(embeddings_dir(), "*.pt", limit, keep)
