"""Built-in engine: prompts answered from a precomputed segmentation of the whole image.

``set_image`` computes the boundary map and the grain segmentation once (seconds on a
2048x2048 image); a click then only looks up regions, so it costs milliseconds:

* positive clicks select the grains under them; negative clicks inside the selection split it by
  a watershed of the boundary map in the selection's bounding box, each click seeding a disc;
* the alternatives are the finer watershed pieces under the clicks and the selection merged
  with the neighbour it shares the weakest border with;
* a box selects a particle: the Otsu class of the box's centre that least touches the box edge,
  and the grains lying mostly inside the box, whichever fills the box better.

Scores are the contrast of the mask's outline on the boundary map relative to a typical
boundary, in [0, 1].
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi
from skimage.filters import threshold_otsu
from skimage.segmentation import watershed

from ..grains.classical import GrainSegmentation, border_strengths
from ..image_utils import to_gray
from ..progress import Progress
from .learned_boundary import BOUNDARY_SOURCES, model_segmentation, segment_grains
from .prompts import Prompts, check_prompts

Box = tuple[slice, slice]
NEEDS_MODEL = "the model engine needs a boundaries model file (train-seg)"
#: A click seeds a disc of this fraction of its distance to the selection's edge when a
#: negative click splits a selection, ...
SEED_DISC = 0.9
#: ... at most this fraction of the way to the nearest click of the other kind.
SEED_GAP = 0.45


def _bbox_union(slices: list[Box]) -> Box:
    return (
        slice(min(s[0].start for s in slices), max(s[0].stop for s in slices)),
        slice(min(s[1].start for s in slices), max(s[1].stop for s in slices)),
    )


def _grow(sl: Box, m: int, shape: tuple[int, int]) -> Box:
    return (
        slice(max(sl[0].start - m, 0), min(sl[0].stop + m, shape[0])),
        slice(max(sl[1].start - m, 0), min(sl[1].stop + m, shape[1])),
    )


def _box_fit(mask: np.ndarray, box: np.ndarray) -> float:
    """How well a mask fills a box (x1, y1, x2, y2) without covering the box's edge, in [0, 1]."""
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if rows.size == 0:
        return 0.0
    m = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
    iw = max(0.0, min(m[2], box[2]) - max(m[0], box[0]))
    ih = max(0.0, min(m[3], box[3]) - max(m[1], box[1]))
    inter = iw * ih
    union = (m[2] - m[0]) * (m[3] - m[1]) + (box[2] - box[0]) * (box[3] - box[1]) - inter
    iou = float(inter / union) if union > 0 else 0.0
    # the background around an object fills the box too, but it also covers the box's edge
    x1, y1 = int(np.floor(box[0])), int(np.floor(box[1]))
    x2, y2 = int(np.ceil(box[2])) - 1, int(np.ceil(box[3])) - 1
    edge = np.concatenate(
        [
            mask[y1, x1 : x2 + 1],
            mask[y2, x1 : x2 + 1],
            mask[y1 : y2 + 1, x1],
            mask[y1 : y2 + 1, x2],
        ]
    )
    return iou * (1.0 - float(edge.mean()))


class ClassicalEngine:
    """Grain and particle masks from a boundary map: filters, the built-in model or yours.

    ``boundaries="filters"`` (engine name ``classical``) uses :mod:`.boundary`;
    ``"learned"`` (engine name ``learned``) the shipped boundary model of
    :mod:`.learned_boundary`; ``"model"`` (engine name ``model``) a boundaries model file
    trained with ``train-seg`` (``model_path``), segmented as ``grains --model`` does.
    ``segment_params`` override ``segment_from_boundaries`` settings (filters and learned).
    """

    def __init__(
        self,
        boundaries: str = "filters",
        model_path: str | Path | None = None,
        **segment_params: float,
    ) -> None:
        if boundaries not in (*BOUNDARY_SOURCES, "model"):
            raise ValueError(f"unknown boundary source {boundaries!r}; use {BOUNDARY_SOURCES}")
        if boundaries == "model" and not model_path:
            raise ValueError(NEEDS_MODEL)
        self.boundaries = boundaries
        self.model_path = model_path
        self.name = {"filters": "classical"}.get(boundaries, boundaries)
        self.segment_params = segment_params
        self.seg: GrainSegmentation | None = None
        self._gray: np.ndarray | None = None
        self._slices: list[Box | None] = []
        self._fine_slices: list[Box | None] = []
        self._neighbours: dict[int, list[tuple[float, int]]] = {}

    @property
    def image_shape(self) -> tuple[int, int] | None:
        return None if self.seg is None else self.seg.labels.shape

    @property
    def labels(self) -> np.ndarray | None:
        """The segmentation of every grain computed by :meth:`set_image`."""
        return None if self.seg is None else self.seg.labels

    def set_image(
        self, image: np.ndarray, pixel_size: float | None = None
    ) -> Generator[Progress, None, None]:
        """Compute the boundary map and the grain segmentation of ``image``."""
        self.seg = None
        yield Progress(0, 3, "boundary map")
        if self.boundaries == "model":
            seg = yield from model_segmentation(np.asarray(image), self.model_path, pixel_size)
        else:
            seg = yield from segment_grains(
                np.asarray(image), self.boundaries, **self.segment_params
            )
        yield Progress(2, 3, "indexing grains")
        self._slices = list(ndi.find_objects(seg.labels))
        self._fine_slices = list(ndi.find_objects(seg.fine))
        yield Progress(2, 3, "finding neighbouring grains")
        pairs, means = border_strengths(seg.labels, seg.boundary)
        nb: dict[int, list[tuple[float, int]]] = {}
        for (a, b), m in zip(pairs.tolist(), means.tolist(), strict=True):
            nb.setdefault(a, []).append((m, b))
            nb.setdefault(b, []).append((m, a))
        self._neighbours = {k: sorted(v) for k, v in nb.items()}
        self._gray = to_gray(np.asarray(image))
        self.seg = seg
        yield Progress(3, 3, f"{int(seg.labels.max())} grains ready")

    # -- scoring -------------------------------------------------------------------------------
    def _score(self, mask_crop: np.ndarray, sl: Box) -> float:
        assert self.seg is not None
        if not mask_crop.any():
            return 0.0
        edge = mask_crop & ~ndi.binary_erosion(mask_crop, border_value=1)
        if not edge.any():
            return 0.0
        b = self.seg.boundary[sl]
        # outline pixels on the image border carry no evidence either way
        inner = ndi.binary_dilation(edge, iterations=2) & ~mask_crop
        strength = float(b[inner].mean()) if inner.any() else float(b[edge].mean())
        return float(np.clip(strength / (self.seg.boundary_level + 1e-6), 0.0, 1.0))

    def _full(self, crops: list[tuple[np.ndarray, Box]]) -> tuple[np.ndarray, np.ndarray]:
        assert self.seg is not None
        h, w = self.seg.labels.shape
        masks = np.zeros((len(crops), h, w), dtype=bool)
        scores = np.zeros(len(crops), dtype=np.float32)
        for i, (crop, sl) in enumerate(crops):
            masks[i][sl] = crop
            scores[i] = self._score(crop, sl)
        return masks, scores

    # -- prompts -------------------------------------------------------------------------------
    def predict(
        self,
        points_rc: np.ndarray | None,
        labels: np.ndarray | None,
        box_xyxy: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Up to three masks ``(K, H, W)`` and their scores, the engine's choice first."""
        pr = check_prompts(points_rc, labels, box_xyxy, self.image_shape)
        if pr.box is not None:
            crops = self._box_candidates(pr)
            masks, scores = self._full(crops)
            # a box is the object's extent: weigh how well each mask fills it
            fit = np.array([_box_fit(m, pr.box) for m in masks], dtype=np.float32)
            scores = fit * (0.5 + 0.5 * scores)
            order = np.argsort(-scores, kind="stable")
            return masks[order], scores[order]
        return self._full(self._click_candidates(pr))

    def _region(
        self, label_img: np.ndarray, slices: list[Box | None], ids: list[int]
    ) -> tuple[np.ndarray, Box]:
        sl = _bbox_union([slices[i - 1] for i in ids if slices[i - 1] is not None])
        return np.isin(label_img[sl], ids), sl

    def _click_candidates(self, pr: Prompts) -> list[tuple[np.ndarray, Box]]:
        assert self.seg is not None
        lab, fine = self.seg.labels, self.seg.fine
        pos = np.round(pr.positive).astype(int)
        neg = np.round(pr.negative).astype(int)
        ids = sorted({int(v) for v in lab[pos[:, 0], pos[:, 1]]})
        main, sl = self._region(lab, self._slices, ids)
        inside = [
            p
            for p in neg
            if sl[0].start <= p[0] < sl[0].stop
            and sl[1].start <= p[1] < sl[1].stop
            and main[p[0] - sl[0].start, p[1] - sl[1].start]
        ]
        if inside:
            main = self._split(main, sl, pos, np.array(inside))
        out = [(main, sl)]
        fids = sorted({int(v) for v in fine[pos[:, 0], pos[:, 1]]})
        piece, psl = self._region(fine, self._fine_slices, fids)
        if not np.array_equal(np.isin(fine[sl], fids), main):
            out.append((piece, psl))
        nbs = [b for _, b in self._neighbours.get(ids[0], []) if b not in ids]
        if nbs:
            grown, gsl = self._region(lab, self._slices, [*ids, nbs[0]])
            out.append((grown, gsl))
        return out[:3]

    def _split(self, mask: np.ndarray, sl: Box, pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
        """The part of ``mask`` on the positive clicks' side of a watershed of the map."""
        assert self.seg is not None
        origin = np.array([sl[0].start, sl[1].start])
        pos = pos - origin
        pos = pos[((pos >= 0) & (pos < mask.shape)).all(1)]
        neg = neg - origin
        markers = np.zeros(mask.shape, np.int32)
        depth = ndi.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
        rows, cols = np.ogrid[: mask.shape[0], : mask.shape[1]]
        # each click seeds a disc, not a pixel: where the line between the two grains is missing
        # the floods meet half way between the seeds, and a disc filling most of its grain's
        # width moves that meeting line towards the true border (synthetic merged pairs, one
        # negative click in the other grain's centre, seeds 15-24: mean IoU 0.64-0.70 with
        # pixels, 0.67-0.78 with discs, etched and tint, either map; radius chosen on 10-14)
        for value, clicks, others in ((1, pos, neg), (2, neg, pos)):
            for p in clicks:
                apart = np.sqrt(((others - p) ** 2).sum(1).min())
                r = min(SEED_DISC * depth[p[0], p[1]], SEED_GAP * apart)
                disc = (rows - p[0]) ** 2 + (cols - p[1]) ** 2 <= r * r
                markers[disc & mask & (markers == 0)] = value
                markers[p[0], p[1]] = value
        ws = watershed(self.seg.boundary[sl], markers, mask=mask)
        return ws == 1

    def _box_candidates(self, pr: Prompts) -> list[tuple[np.ndarray, Box]]:
        assert self.seg is not None and self._gray is not None and pr.box is not None
        x1, y1, x2, y2 = pr.box
        h, w = self.seg.labels.shape
        inner: Box = (
            slice(int(np.floor(y1)), int(np.ceil(y2))),
            slice(int(np.floor(x1)), int(np.ceil(x2))),
        )
        m = max(3, int(0.15 * max(y2 - y1, x2 - x1)))
        sl = _grow(inner, m, (h, w))
        gray = ndi.gaussian_filter(self._gray[sl], 0.7)
        box_mask = np.zeros(gray.shape, bool)
        box_mask[
            inner[0].start - sl[0].start : inner[0].stop - sl[0].start,
            inner[1].start - sl[1].start : inner[1].stop - sl[1].start,
        ] = True
        out: list[tuple[np.ndarray, Box]] = []
        if np.ptp(gray) > 1e-6:
            fg = gray > threshold_otsu(gray)
            for cls in (fg, ~fg):
                comp, n = ndi.label(cls & box_mask)
                if n == 0:
                    continue
                pick = self._pick_component(comp, n, pr, sl, box_mask)
                if pick:
                    out.append((ndi.binary_fill_holes(comp == pick), sl))
        lab = self.seg.labels[sl]
        ids, counts = np.unique(lab[box_mask], return_counts=True)
        totals = np.bincount(lab.ravel(), minlength=int(ids.max()) + 1)[ids]
        keep = ids[counts > 0.5 * totals]
        if keep.size:
            out.append((np.isin(lab, keep), sl))
        if not out:
            out.append((box_mask, sl))
        return out[:3]

    @staticmethod
    def _pick_component(
        comp: np.ndarray, n: int, pr: Prompts, sl: Box, box_mask: np.ndarray
    ) -> int:
        pos = np.round(pr.positive).astype(int) - [sl[0].start, sl[1].start]
        for r, c in pos:
            if 0 <= r < comp.shape[0] and 0 <= c < comp.shape[1] and comp[r, c]:
                return int(comp[r, c])
        # a detection box is the object's bounding box: keep the component whose own
        # bounding box matches it best
        rows, cols = np.flatnonzero(box_mask.any(1)), np.flatnonzero(box_mask.any(0))
        b = (rows[0], cols[0], rows[-1] + 1, cols[-1] + 1)
        best, best_iou = 0, 0.0
        for i, s in enumerate(ndi.find_objects(comp), start=1):
            if s is None:
                continue
            c = (s[0].start, s[1].start, s[0].stop, s[1].stop)
            ih = max(0, min(b[2], c[2]) - max(b[0], c[0]))
            iw = max(0, min(b[3], c[3]) - max(b[1], c[1]))
            inter = ih * iw
            union = (b[2] - b[0]) * (b[3] - b[1]) + (c[2] - c[0]) * (c[3] - c[1]) - inter
            iou = inter / union if union else 0.0
            if iou > best_iou:
                best, best_iou = i, iou
        return best if best_iou > 0.3 else 0
