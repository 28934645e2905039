"""An image's content digest: the same pixels under another path or name are the same image.

The queue matches the images it ranks to the project's by digest as well as by source path, so
an image moved or renamed after it was added is still seen as in the project (and done), and is
not added a second time. A project records each image's digest when it is added; the images of
an older project file have none, and their digests are computed from their pixels when needed
(kept in memory, not written: a ranking never changes the project).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import numpy as np

from .sources import source_key


def pixel_digest(image: Any) -> str:
    """``"<height>x<width>:<sha256>"`` of the pixels (their shape and dtype included)."""
    arr = np.asarray(image)
    if not arr.dtype.isnative:  # the same values read from a big-endian file
        arr = arr.astype(arr.dtype.newbyteorder("="))
    arr = np.ascontiguousarray(arr)
    h = hashlib.sha256(f"{arr.dtype.str}{arr.shape}".encode())
    h.update(arr.reshape(-1).view(np.uint8))
    size = "x".join(str(int(s)) for s in arr.shape[:2])
    return f"{size}:{h.hexdigest()}"


def copies_by_digest(digests: Iterable[tuple[str, str | None]]) -> dict[str, str]:
    """``{name: first name}`` of the names whose digest an earlier name has, from ``(name,
    digest)`` pairs in order (a digest of None matches nothing)."""
    first: dict[str, str] = {}
    out = {}
    for name, digest in digests:
        if digest is None:
            continue
        earlier = first.setdefault(digest, name)
        if earlier != name:
            out[name] = earlier
    return out


def _digest_size(digest: str) -> str:
    return str(digest).split(":", 1)[0]


class ImageDigests:
    """Mixin of :class:`~.project.Project`: finding its images by source file or by digest."""

    _m: dict[str, Any]
    _digests: dict[str, str]  # image id -> digest computed from its pixels (older records)

    def read_image(self, image_id: str) -> np.ndarray:
        raise NotImplementedError  # provided by Project

    def _digest_of(self, rec: dict[str, Any]) -> str | None:
        return rec.get("digest") or self._digests.get(rec["id"])

    def known_digest(self, image_id: str) -> str | None:
        """The image's digest as recorded (or computed before), None when not known yet."""
        for rec in self._m["images"]:
            if rec["id"] == image_id:
                return self._digest_of(rec)
        return None

    def image_digest(self, image_id: str) -> str:
        """The image's digest, computed from its pixels when its record has none."""
        known = self.known_digest(image_id)
        if known is None:
            known = self._digests[image_id] = pixel_digest(self.read_image(image_id))
        return known

    def learn_digests(self, digests: Iterable[Any], skip: Iterable[Any] = ()) -> None:
        """Compute the digests of the images without a recorded one that may be one of
        ``digests`` (of their size), except those whose source is one of ``skip`` (paths)."""
        sizes = {_digest_size(d) for d in digests if isinstance(d, str) and d}
        skipped = {source_key(p) for p in skip if isinstance(p, str) and p}
        for rec in list(self._m["images"]):
            size = "x".join(str(int(s)) for s in rec.get("shape") or [])
            if size not in sizes or self._digest_of(rec) is not None:
                continue
            if rec.get("source") and source_key(rec["source"]) in skipped:
                continue
            try:
                self.image_digest(rec["id"])
            except (OSError, ValueError):  # an unreadable image file: matched by path only
                continue

    def match_images(self, sources: Iterable[Any], digests: Iterable[Any]) -> list[list[str]]:
        """For each file of ``sources`` (with its pixels' digest, or None), the ids of the
        images added from that file or with those pixels (those known: see
        :meth:`learn_digests`), in the project's order."""
        images = list(self._m["images"])
        by_key: dict[str, set[int]] = {}
        by_digest: dict[str, set[int]] = {}
        for n, rec in enumerate(images):
            if rec.get("source"):
                by_key.setdefault(source_key(rec["source"]), set()).add(n)
            if digest := self._digest_of(rec):
                by_digest.setdefault(digest, set()).add(n)
        out = []
        for source, digest in zip(sources, digests, strict=True):
            hits = set(by_key.get(source_key(source), ())) if source else set()
            if isinstance(digest, str) and digest:
                hits |= by_digest.get(digest, set())
            out.append([images[n]["id"] for n in sorted(hits)])
        return out

    def find_image(self, name: str, digest: str | None = None) -> str | None:
        """Id of the image added under ``name`` (or from that source file, or with the pixels
        of ``digest``), if any."""
        key = source_key(name)
        for rec in self._m["images"]:
            same_file = bool(rec.get("source")) and source_key(rec["source"]) == key
            if rec["name"] == name or same_file or (digest and self._digest_of(rec) == digest):
                return rec["id"]
        return None
