"""Segment Anything engine: cached tiled embeddings and a fast click-to-mask path.

An image larger than the model's input is embedded as overlapping tiles. Clicks are answered
from the one tile that holds the positive clicks most centrally; clicks outside it are left out
there (positive clicks that no one tile holds are refused). A box that does not fit in one tile
(with a margin of a quarter of the overlap around it) is decoded in every tile it reaches, each
tile filling its share of the image (the overlaps are split in their middle), and the three masks
are merged. A click whose mask reaches its tile's edge is continued in the neighbouring tiles
(:mod:`.sam_continue`). :meth:`SamEngine.cut_at_tile_edge` tells when a mask still reaches the
edge of the tiles it was decoded in inside the image: it is likely cut there.
"""

from __future__ import annotations

import copy
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..image_utils import check_segment_size, to_rgb_uint8
from ..progress import Progress
from .prompts import PromptError, Prompts, check_prompts
from .sam_cache import embedding_key, load_embeddings, save_embeddings
from .sam_continue import Window, continue_click, reaches_open_side, share_bounds
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


#: the input size and ``FastDecoder.tile_bytes()`` (one embedded tile's memory) of every
#: published checkpoint (vit_b, vit_l, vit_h share one decoder; a test checks them)
PUBLISHED_INPUT, PUBLISHED_TILE_BYTES = 1024, 18_874_368


def check_embedding_size(shape: tuple[int, ...], engine: SamEngine | None = None) -> None:
    """Refuse (ValueError, with the reason) an image of ``shape`` whose tiles' embeddings would
    not fit in memory: :meth:`SamEngine.set_image`'s rule, with ``engine``'s model or (none
    loaded yet) the published checkpoints'. It reads only the shape: a dock checks it first.
    """
    if engine is None:  # (and the engine's default overlap)
        size, overlap, tile = PUBLISHED_INPUT, PUBLISHED_INPUT // 4, PUBLISHED_TILE_BYTES
    else:
        size, overlap, tile = engine.img_size, engine.overlap, engine.decoder.tile_bytes()
    h, w = int(shape[0]), int(shape[1])
    tiles = len(plan_tiles((h, w), size, overlap))  # the RGB copy, then each tile's embedding
    check_segment_size((h, w), 3 + tiles * tile / max(h * w, 1))


@dataclass(frozen=True)
class Part:
    """A tile a prediction is decoded in and the window of the image (rows, cols) it fills."""

    index: int
    rows: tuple[int, int]
    cols: tuple[int, int]


def _spans(starts: list[int], size: int, n: int, lo: float, hi: float) -> list[tuple]:
    """Along one axis, the tiles whose share of ``[0, n)`` meets ``[lo, hi)`` and the window
    each fills: the middle of an overlap between two of them, the tile's own edge outside."""
    bounds = share_bounds(starts, size, n)
    used = [j for j in range(len(starts)) if bounds[j] < hi and bounds[j + 1] > lo]
    out = []
    for j in used:
        a = starts[j] if j == used[0] else bounds[j]
        b = starts[j] + size if j == used[-1] else bounds[j + 1]
        out.append((j, (int(a), int(b))))
    return out


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
        #: why the last embedding was not saved to the cache (None when it was, or was read)
        self.cache_problem: str | None = None
        self._click_windows: tuple[bytes, list[Window]] | None = None

    @property
    def image_shape(self) -> tuple[int, int] | None:
        return self._shape

    def for_new_image(self) -> SamEngine:
        """A new engine with no image set that shares this one's model (loading takes seconds).

        Both can be used at once: the model is only read, each engine keeps its own embedding.
        """
        new = copy.copy(self)
        new.tiles, new.embeddings, new._prepared, new._shape = [], None, [], None
        new.from_cache, new._click_windows, new.cache_problem = False, None, None
        return new

    def set_image(
        self, image: np.ndarray, pixel_size: float | None = None
    ) -> Generator[Progress, None, None]:
        """Embed ``image`` tile by tile (or load the cached embedding), yielding progress."""
        from segment_anything.utils.transforms import ResizeLongestSide

        rgb = to_rgb_uint8(np.asarray(image))
        if np.may_share_memory(rgb, image):
            # the caller's pixels may change while the tiles are embedded: the key and the
            # embedding must both be of the pixels as they are now
            rgb = rgb.copy()
        self._shape, self.tiles, self.embeddings, self._prepared = None, [], None, []
        self._click_windows = None
        self.cache_problem = None
        check_embedding_size(rgb.shape, self)  # a montage whose embeddings would not fit
        tiles = plan_tiles(rgb.shape[:2], self.img_size, self.overlap)
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
                try:
                    save_embeddings(key, {"embeddings": emb, "shape": list(rgb.shape[:2])})
                except OSError as exc:  # the cache only saves time: go on without it
                    self.cache_problem = (
                        f"the embedding could not be saved to the cache ({exc}); it is "
                        "computed again when the image is opened again"
                    )
        self._prepared = [self.decoder.prepare(emb[i : i + 1]) for i in range(len(tiles))]
        self.tiles, self.embeddings, self._shape = tiles, emb, rgb.shape[:2]
        yield Progress(1, 1, "embedding ready")

    def _pick_tile(self, pr: Prompts) -> int:
        """The tile to decode these prompts in: where the box (and the clicks) sit most
        centrally, or without a box the one holding the positive clicks most centrally.

        Raises
        ------
        PromptError
            Positive clicks (without a box) that no single tile holds.
        """
        if pr.box is not None:
            pts = pr.points[:, ::-1] if len(pr.points) else np.zeros((0, 2))  # x, y
            return self._most_central(np.vstack([pts, pr.box.reshape(2, 2)]))
        pos = pr.positive
        holding = [i for i, t in enumerate(self.tiles) if _inside(t, pos).all()]
        if not holding:
            t = self.tiles[0]
            raise PromptError(
                f"the positive clicks of this object lie too far apart for one SAM tile ({t.h} x "
                f"{t.w} px of the image): delete the far click from the prompts layer, or draw "
                "a box around the object in a Shapes layer and use 'refine all detections'"
            )
        return self._most_central(pos[:, ::-1], holding)

    def _most_central(self, xy: np.ndarray, among: list[int] | None = None) -> int:
        """Of the tiles ``among`` (all by default), the one whose inner edges lie farthest from
        the nearest of the points ``xy`` (x, y)."""
        h, w = self._shape
        best, best_score = 0 if among is None else among[0], -np.inf
        for i in range(len(self.tiles)) if among is None else among:
            t = self.tiles[i]
            # a tile edge on the image's border cuts nothing: only inner edges count
            far = np.inf
            left = xy[:, 0] - t.x0 if t.x0 > 0 else far
            right = t.x0 + t.w - xy[:, 0] if t.x0 + t.w < w else far
            top = xy[:, 1] - t.y0 if t.y0 > 0 else far
            bottom = t.y0 + t.h - xy[:, 1] if t.y0 + t.h < h else far
            near = np.minimum(np.minimum(left, right), np.minimum(top, bottom))
            score = float(np.min(near))
            if score > best_score:
                best, best_score = i, score
        return best

    def _parts(self, pr: Prompts) -> list[Part]:
        """The tiles to decode these prompts in: the most central one, or for a box that does
        not fit in it (with a margin), every tile the box reaches."""
        i = self._pick_tile(pr)
        t = self.tiles[i]
        one = [Part(i, (t.y0, t.y0 + t.h), (t.x0, t.x0 + t.w))]
        if pr.box is None or len(self.tiles) == 1:
            return one
        h, w = self._shape
        m = self.overlap // 4  # an object may reach a little past its box
        x1, y1, x2, y2 = pr.box
        lo_y, hi_y, lo_x, hi_x = max(y1 - m, 0), min(y2 + m, h), max(x1 - m, 0), min(x2 + m, w)
        if t.y0 <= lo_y and hi_y <= t.y0 + t.h and t.x0 <= lo_x and hi_x <= t.x0 + t.w:
            return one
        ys, xs = sorted({u.y0 for u in self.tiles}), sorted({u.x0 for u in self.tiles})
        rows, cols = _spans(ys, t.h, h, lo_y, hi_y), _spans(xs, t.w, w, lo_x, hi_x)
        return [Part(iy * len(xs) + ix, r, c) for iy, r in rows for ix, c in cols]

    def _decode(self, i: int, pr: Prompts) -> tuple[torch.Tensor, torch.Tensor, tuple, float]:
        """Decode in tile ``i`` the clicks inside it and the box clipped to it: a click outside
        the tile would reach the decoder at coordinates the model never saw."""
        t = self.tiles[i]
        s = t.scale(self.img_size)
        inside = _inside(t, pr.points)
        pts, lab = pr.points[inside], pr.labels[inside]
        coords = (pts[:, ::-1] - [t.x0, t.y0]) * s if len(pts) else None
        box = None
        if pr.box is not None:
            box = (pr.box - [t.x0, t.y0, t.x0, t.y0]) * s
            box = np.clip(box, 0, [t.w * s, t.h * s, t.w * s, t.h * s])
        logits, iou, origin = self.decoder.decode(self._prepared[i], coords, lab, box)
        return logits, iou, origin, s

    def predict(
        self,
        points_rc: np.ndarray | None,
        labels: np.ndarray | None,
        box_xyxy: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Masks ``(3, H, W)`` bool and predicted IoU ``(3,)``, best first."""
        pr = check_prompts(points_rc, labels, box_xyxy, self._shape)
        parts = self._parts(pr)
        if len(parts) == 1:  # the fast path of a click
            t = self.tiles[parts[0].index]
            logits, iou, origin, s = self._decode(parts[0].index, pr)
            masks = logits_to_masks(
                logits, origin, self.img_size, s, (t.h, t.w), (t.y0, t.x0), self._shape
            )
            scores = iou.numpy().astype(np.float32)
            if len(self.tiles) > 1 and pr.box is None:
                best = int(np.argmax(scores))
                masks, windows = continue_click(self, parts[0].index, pr, masks, best)
                self._click_windows = (_key(pr), windows)
        else:
            masks, scores = self._merged(parts, pr)
        order = np.argsort(-scores, kind="stable")
        return masks[order], scores[order]

    def _merged(self, parts: list[Part], pr: Prompts) -> tuple[np.ndarray, np.ndarray]:
        """The masks of a box decoded in several tiles, each filling its window; scores are
        the tiles' predicted IoU weighted by the part of the box each tile saw."""
        masks = np.zeros((3, *self._shape), bool)
        total, weights = np.zeros(3), 0.0
        x1, y1, x2, y2 = pr.box
        for p in parts:
            t = self.tiles[p.index]
            logits, iou, origin, s = self._decode(p.index, pr)
            tile = logits_to_masks(logits, origin, self.img_size, s, (t.h, t.w))
            (r0, r1), (c0, c1) = p.rows, p.cols
            masks[:, r0:r1, c0:c1] = tile[:, r0 - t.y0 : r1 - t.y0, c0 - t.x0 : c1 - t.x0]
            seen = max(min(x2, t.x0 + t.w) - max(x1, t.x0), 0)
            seen *= max(min(y2, t.y0 + t.h) - max(y1, t.y0), 0)
            total += seen * iou.numpy()
            weights += seen
        return masks, (total / max(weights, 1e-9)).astype(np.float32)

    def cut_at_tile_edge(
        self,
        mask: np.ndarray,
        points_rc: np.ndarray | None = None,
        labels: np.ndarray | None = None,
        box_xyxy: np.ndarray | None = None,
        origin: tuple[int, int] = (0, 0),
    ) -> bool:
        """True if ``mask``, predicted for these prompts, reaches the edge of the tiles it was
        decoded in where the image goes on past that edge: the object is likely cut there.

        ``mask`` may be a crop of the image's mask whose first pixel is at ``origin``.
        """
        if self._shape is None or len(self.tiles) < 2:
            return False
        pr = check_prompts(points_rc, labels, box_xyxy, self._shape)
        if pr.box is None and self._click_windows and self._click_windows[0] == _key(pr):
            return reaches_open_side(mask, self._click_windows[1], origin)
        parts = self._parts(pr)
        y0, y1 = min(p.rows[0] for p in parts), max(p.rows[1] for p in parts)
        x0, x1 = min(p.cols[0] for p in parts), max(p.cols[1] for p in parts)
        h, w = self._shape
        inner = {"top": y0 > 0, "bottom": y1 < h, "left": x0 > 0, "right": x1 < w}
        window = Window((y0, y1), (x0, x1), tuple(s for s, on in inner.items() if on))
        return reaches_open_side(mask, [window], origin)


def _inside(t: Tile, pts: np.ndarray) -> np.ndarray:
    """Which of the points ``pts`` (N, 2) rows/cols lie on the tile's pixels (up to their outer
    edges, as :func:`.prompts.check_prompts` takes a click on the image's edge pixels)."""
    inside = (pts[:, 0] >= t.y0 - 0.5) & (pts[:, 0] <= t.y0 + t.h - 0.5)
    return inside & (pts[:, 1] >= t.x0 - 0.5) & (pts[:, 1] <= t.x0 + t.w - 0.5)


def _key(pr: Prompts) -> bytes:
    """The clicks of a prediction, to find its decoded tiles again."""
    return pr.points.tobytes() + pr.labels.astype(np.int64).tobytes()
