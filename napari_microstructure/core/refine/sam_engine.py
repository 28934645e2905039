"""Segment Anything engine: cached tiled embeddings and a fast click-to-mask path."""

from __future__ import annotations

import copy
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..image_utils import check_segment_size, to_rgb_uint8
from ..progress import Progress
from .prompts import Prompts, check_prompts
from .sam_cache import embedding_key, load_embeddings, save_embeddings
from .sam_decode import FastDecoder, Prepared
from .sam_masks import logits_to_masks
from .sam_model import checkpoint_fingerprint, load_sam


@dataclass(frozen=True)
class Tile:
    """A window of the image the model embeds: origin, size and model-input px per image px."""

    y0: int
    x0: int
    h: int
    w: int

    def scale(self, img_size: int) -> float:
        return img_size / max(self.h, self.w)


def plan_tiles(shape: tuple[int, int], size: int, overlap: int) -> list[Tile]:
    """Overlapping ``size`` x ``size`` tiles covering an image; one tile when it fits."""
    h, w = shape
    if max(h, w) <= size:
        return [Tile(0, 0, h, w)]

    def starts(n: int) -> list[int]:
        if n <= size:
            return [0]
        k = int(np.ceil((n - overlap) / (size - overlap)))
        return [int(round(v)) for v in np.linspace(0, n - size, k)]

    return [Tile(y, x, min(size, h), min(size, w)) for y in starts(h) for x in starts(w)]


class SamEngine:
    """Point/box prompts to masks with a SAM checkpoint (vit_b, vit_l, vit_h or custom).

    Parameters
    ----------
    checkpoint
        Path of the model file.
    model_type
        ``"auto"`` (recognised from the file) or the expected type.
    use_cache
        Keep embeddings on disk (``core.paths.cache_dir() / "sam_embeddings"``).
    overlap
        Tile overlap in px for images larger than the model input.
    """

    name = "sam"

    def __init__(
        self,
        checkpoint: str | Path,
        model_type: str = "auto",
        use_cache: bool = True,
        overlap: int | None = None,
    ) -> None:
        self.checkpoint = Path(checkpoint).expanduser()
        self.sam, self.model_type = load_sam(self.checkpoint, model_type)
        self.fingerprint = checkpoint_fingerprint(self.checkpoint)
        self.decoder = FastDecoder(self.sam)
        self.img_size = self.decoder.img_size
        self.overlap = self.img_size // 4 if overlap is None else int(overlap)
        self.use_cache = use_cache
        self.tiles: list[Tile] = []
        self.embeddings: torch.Tensor | None = None
        self._prepared: list[Prepared] = []
        self._shape: tuple[int, int] | None = None
        self.from_cache = False

    @property
    def image_shape(self) -> tuple[int, int] | None:
        return self._shape

    def for_new_image(self) -> SamEngine:
        """A new engine with no image set that shares this one's model (loading takes seconds).

        Both can be used at once: the model is only read, each engine keeps its own embedding.
        """
        new = copy.copy(self)
        new.tiles, new.embeddings, new._prepared, new._shape = [], None, [], None
        new.from_cache = False
        return new

    def set_image(
        self, image: np.ndarray, pixel_size: float | None = None
    ) -> Generator[Progress, None, None]:
        """Embed ``image`` tile by tile (or load the cached embedding), yielding progress."""
        from segment_anything.utils.transforms import ResizeLongestSide

        rgb = to_rgb_uint8(np.asarray(image))
        self._shape, self.tiles, self.embeddings, self._prepared = None, [], None, []
        tiles = plan_tiles(rgb.shape[:2], self.img_size, self.overlap)
        h, w = rgb.shape[:2]  # refuse a montage whose embeddings would not fit in memory
        check_segment_size((h, w), 3 + len(tiles) * self.decoder.tile_bytes() / (h * w))
        key = embedding_key(
            rgb, self.fingerprint, self.model_type, f"{self.img_size}:{self.overlap}"
        )
        entry = load_embeddings(key) if self.use_cache else None
        self.from_cache = entry is not None
        if entry is not None:
            yield Progress(0, 1, "loading cached embedding")
            emb = entry["embeddings"]
        else:
            resize = ResizeLongestSide(self.img_size)
            parts = []
            for i, t in enumerate(tiles):
                yield Progress(i, len(tiles) + 1, f"embedding tile {i + 1} of {len(tiles)}")
                crop = rgb[t.y0 : t.y0 + t.h, t.x0 : t.x0 + t.w]
                x = torch.as_tensor(resize.apply_image(crop)).permute(2, 0, 1)[None].float()
                with torch.inference_mode():
                    parts.append(self.sam.image_encoder(self.sam.preprocess(x)))
            emb = torch.cat(parts)
            if self.use_cache:
                yield Progress(len(tiles), len(tiles) + 1, "saving embedding to the cache")
                save_embeddings(key, {"embeddings": emb, "shape": list(rgb.shape[:2])})
        self._prepared = [self.decoder.prepare(emb[i : i + 1]) for i in range(len(tiles))]
        self.tiles, self.embeddings, self._shape = tiles, emb, rgb.shape[:2]
        yield Progress(1, 1, "embedding ready")

    def _pick_tile(self, pr: Prompts) -> int:
        pts = pr.points[:, ::-1] if len(pr.points) else np.zeros((0, 2))  # x, y
        if pr.box is not None:
            pts = np.vstack([pts, pr.box.reshape(2, 2)])
        best, best_score = 0, -np.inf
        for i, t in enumerate(self.tiles):
            dx = np.minimum(pts[:, 0] - t.x0, t.x0 + t.w - pts[:, 0])
            dy = np.minimum(pts[:, 1] - t.y0, t.y0 + t.h - pts[:, 1])
            score = float(np.minimum(dx, dy).min())
            if score > best_score:
                best, best_score = i, score
        return best

    def predict(
        self,
        points_rc: np.ndarray | None,
        labels: np.ndarray | None,
        box_xyxy: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Masks ``(3, H, W)`` bool and predicted IoU ``(3,)``, best first."""
        pr = check_prompts(points_rc, labels, box_xyxy, self._shape)
        i = self._pick_tile(pr)
        t = self.tiles[i]
        s = t.scale(self.img_size)
        coords = (pr.points[:, ::-1] - [t.x0, t.y0]) * s if len(pr.points) else None
        box = None
        if pr.box is not None:
            box = (pr.box - [t.x0, t.y0, t.x0, t.y0]) * s
            box = np.clip(box, 0, [t.w * s, t.h * s, t.w * s, t.h * s])
        logits, iou, origin = self.decoder.decode(self._prepared[i], coords, pr.labels, box)
        masks = logits_to_masks(
            logits, origin, self.img_size, s, (t.h, t.w), (t.y0, t.x0), self._shape
        )
        scores = iou.numpy().astype(np.float32)
        order = np.argsort(-scores, kind="stable")
        return masks[order], scores[order]
