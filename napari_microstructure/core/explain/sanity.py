"""Run the sanity checks over a set of images with known objects (tests, benchmark, users).

For every true object that the detector finds (a detection of the right class with IoU >= 0.5)
the detection is explained with a per-object gradient map; the pointing game asks whether the
map's maximum lies in the TRUE box, the deletion test whether deleting its most salient 10 % of
pixels lowers the detection's score more than deleting a random 10 %. The same targets are
explained with a randomly re-initialised copy of the network, which should do much worse.
"""

from __future__ import annotations

import copy
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..progress import Progress
from .checks import deletion_test, pointing_hit
from .model import ExplainModel
from .saliency import as_explain_model, object_saliency


def randomized(model: ExplainModel, seed: int = 0) -> ExplainModel:
    """A copy of ``model`` with every layer re-initialised at random (same architecture)."""
    net = copy.deepcopy(model.net.model)
    torch.manual_seed(seed)
    for m in net.modules():
        if hasattr(m, "reset_parameters") and m is not net:
            m.reset_parameters()
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
    from .model import explain_model

    out = explain_model(net)
    out.imgsz, out.pixel_size, out.names = model.imgsz, model.pixel_size, model.names
    out.key = model.key + f"-random{seed}"
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=2)
    area = lambda x: np.clip(x[:, 2:] - x[:, :2], 0, None).prod(axis=1)  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None, :] - inter + 1e-9)


def match_detections(
    objects: list[dict[str, Any]], detections: Any, min_iou: float = 0.5
) -> list[tuple[dict[str, Any], tuple[float, ...], float]]:
    """(true object, detected box, confidence) for each object found with its own class."""
    if len(detections) == 0 or not objects:
        return []
    det = detections[["x1", "y1", "x2", "y2"]].to_numpy(float)
    cls = detections["class_id"].to_numpy(int)
    conf = detections["confidence"].to_numpy(float)
    truth = np.array([o["bbox"] for o in objects], float)
    iou = _iou(truth, det)
    iou[np.array([o["class_id"] for o in objects])[:, None] != cls[None, :]] = 0
    out, used = [], set()
    for i in np.argsort(-iou.max(axis=1)):
        j = int(np.argmax(np.where([k in used for k in range(len(det))], -1, iou[i])))
        if iou[i, j] >= min_iou and j not in used:
            used.add(j)
            out.append((objects[i], tuple(det[j]), float(conf[j])))
    return out


@dataclass
class SanityReport:
    """Per-object outcomes of the checks, for the trained and the randomised model."""

    hits: list[bool] = field(default_factory=list)
    random_hits: list[bool] = field(default_factory=list)
    salient_drop: list[float] = field(default_factory=list)
    random_drop: list[float] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    n_objects: int = 0

    @property
    def pointing(self) -> float:
        return float(np.mean(self.hits)) if self.hits else float("nan")

    @property
    def random_model_pointing(self) -> float:
        return float(np.mean(self.random_hits)) if self.random_hits else float("nan")

    @property
    def deletion_wins(self) -> float:
        """Fraction of objects where deleting salient pixels hurt more than random ones."""
        s, r = np.array(self.salient_drop), np.array(self.random_drop)
        return float(np.mean(s > r)) if len(s) else float("nan")

    def summary(self) -> dict[str, float]:
        return {
            "objects": self.n_objects,
            "explained": len(self.hits),
            "pointing_game": round(self.pointing, 3),
            "random_model_pointing_game": round(self.random_model_pointing, 3),
            "mean_drop_salient_10pct": round(float(np.mean(self.salient_drop)), 3),
            "mean_drop_random_10pct": round(float(np.mean(self.random_drop)), 3),
            "deletion_salient_beats_random": round(self.deletion_wins, 3),
        }


def sanity_checks(
    samples: Iterable[tuple[np.ndarray, list[dict[str, Any]], float | None]],
    detector: Any,
    method: str = "layercam",
    random_seed: int = 0,
) -> Generator[Progress, None, SanityReport]:
    """Pointing game, deletion test and randomised-model check over ``(image, objects, px)``."""
    from ..detect import detect

    model = as_explain_model(detector)
    rand = randomized(model, random_seed)
    report = SanityReport()
    samples = list(samples)
    for k, (image, objects, ps) in enumerate(samples):
        dets = yield from detect(image, detector, pixel_size=ps)
        report.n_objects += len(objects)
        for obj, box, _conf in match_detections(objects, dets):
            cid = int(obj["class_id"])
            res = yield from object_saliency(image, model, box, cid, ps, method, use_cache=False)
            report.hits.append(pointing_hit(res.saliency, obj["bbox"]))
            d = deletion_test(image, model, res.saliency, box, cid, pixel_size=ps, seed=k)
            report.salient_drop.append(d.salient_drop)
            report.random_drop.append(d.random_drop)
            report.classes.append(str(obj["cls"]))
            rnd = yield from object_saliency(image, rand, box, cid, ps, method, use_cache=False)
            report.random_hits.append(pointing_hit(rnd.saliency, obj["bbox"]))
        yield Progress(k + 1, len(samples), f"sanity checks: image {k + 1}/{len(samples)}")
    return report


def synthetic_samples(
    seeds: Iterable[int], size: int = 320, pixel_size: float = 0.5
) -> list[tuple[np.ndarray, list[dict[str, Any]], float]]:
    """Held-out ``(grey image, true objects, pixel size)`` for :func:`sanity_checks`.

    Synthetic "defects" micrographs with every claimed class of the demo detector (3 inclusions,
    3 pores, 4 precipitates, 1 crack); seeds 7000.. are in none of its training or test sets.
    """
    from ..synthetic import generate

    out = []
    for seed in seeds:
        m = generate(
            "defects",
            shape=(size, size),
            pixel_size=pixel_size,
            seed=seed,
            n_inclusions=3,
            n_pores=3,
            n_precipitates=4,
            n_cracks=1,
            n_scratches=0,
        )
        out.append((m.image if m.image.ndim == 2 else m.image[..., 0], m.objects, pixel_size))
    return out
