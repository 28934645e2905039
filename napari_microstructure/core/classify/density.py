"""Per-class Gaussian density on the embedding: how far a crop is from everything it has seen.

Each class gets its own mean and covariance (Ledoit-Wolf shrinkage, stable with a few hundred
crops in 64 dimensions). A crop's novelty score is its Mahalanobis distance to the nearest
class. Two thresholds are calibrated on images the network did not train on, scored exactly as
at prediction time:

- per crop (used by the per-pixel class map): a quantile of the calibration crops' scores;
- per image (used for the image's ``none_of_these``): the mean distance of the image's crops
  to each class, divided by that class's typical value on its own calibration images (classes
  differ in how far unseen images of them fall), minimised over classes; the threshold is a
  quantile of these scores on the calibration images. Averaging over many crops first makes
  this decision far sharper than counting novel crops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


@dataclass
class ClassDensity:
    """Class means ``(K, D)``, precisions ``(K, D, D)`` and the novelty thresholds."""

    means: np.ndarray
    precisions: np.ndarray
    threshold: float = np.inf
    width: float = 1.0
    image_threshold: float = np.inf
    image_width: float = 1.0
    class_scale: np.ndarray | None = None

    @classmethod
    def fit(cls, emb: np.ndarray, labels: np.ndarray, n_classes: int) -> ClassDensity:
        """Fit a Gaussian per class to embeddings ``(N, D)`` with class ``labels``."""
        from sklearn.covariance import LedoitWolf  # only training needs scikit-learn

        emb = np.asarray(emb, dtype=np.float64)
        missing = [k for k in range(n_classes) if np.sum(labels == k) < 2]
        if missing:
            raise ValueError(f"fewer than two embeddings for class index {missing}")
        means = np.stack([emb[labels == k].mean(0) for k in range(n_classes)])
        precisions = np.stack(
            [LedoitWolf().fit(emb[labels == k]).precision_ for k in range(n_classes)]
        )
        return cls(means, precisions)

    def distances(self, emb: np.ndarray) -> np.ndarray:
        """Mahalanobis distance of each embedding to each class, ``(N, K)``."""
        emb = np.asarray(emb, dtype=np.float64)
        diff = emb[:, None, :] - self.means[None, :, :]
        d2 = np.einsum("nkd,kde,nke->nk", diff, self.precisions, diff)
        return np.sqrt(np.maximum(d2, 0.0))

    def score(self, emb: np.ndarray) -> np.ndarray:
        """Novelty score: distance to the nearest class, ``(N,)``."""
        return self.distances(emb).min(axis=1)

    def image_score(self, emb: np.ndarray) -> float:
        """Novelty of an image from its crops' embeddings (1 = typical of a known class)."""
        mean_d = self.distances(emb).mean(axis=0)
        scale = self.class_scale if self.class_scale is not None else np.ones_like(mean_d)
        return float(np.min(mean_d / scale))

    def calibrate(
        self,
        emb: np.ndarray,
        owner: np.ndarray,
        labels: np.ndarray,
        quantile: float = 0.97,
        image_quantile: float = 1.0,
    ) -> None:
        """Set the thresholds from calibration crops ``emb`` of images ``owner`` (image index)
        whose classes are ``labels[owner]``: ``1 - quantile`` of known crops and
        ``1 - image_quantile`` of known images are called novel (1.0: the largest score of a
        calibration image is the threshold)."""
        dist = self.distances(emb)
        crop_scores = dist.min(axis=1)
        self.threshold = float(np.quantile(crop_scores, quantile))
        self.width = float(max(np.std(crop_scores) * 0.1, 1e-6))
        images = np.unique(owner)
        own = np.array([dist[owner == i, labels[i]].mean() for i in images])
        img_cls = labels[images]
        k = len(self.means)
        typical = np.median(own) if len(own) else 1.0
        self.class_scale = np.array(
            [np.median(own[img_cls == c]) if np.any(img_cls == c) else typical for c in range(k)]
        )
        image_scores = np.array([self.image_score(emb[owner == i]) for i in images])
        self.image_threshold = float(np.quantile(image_scores, image_quantile))
        self.image_width = float(max(np.std(image_scores) * 0.1, 1e-6))

    def novelty(self, emb: np.ndarray) -> np.ndarray:
        """Probability-like "none of these" value per crop in [0, 1]."""
        return _sigmoid((self.score(emb) - self.threshold) / self.width)

    def image_novelty(self, emb: np.ndarray) -> float:
        """ "None of these" value in [0, 1] of an image from the embeddings of its crops."""
        return float(_sigmoid((self.image_score(emb) - self.image_threshold) / self.image_width))
