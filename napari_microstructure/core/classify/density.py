"""Per-class Gaussian density on the embedding: how far a crop is from everything it has seen.

Each class gets its own mean and covariance (Ledoit-Wolf shrinkage, stable with a few hundred
crops in 64 dimensions). A crop's novelty score is its Mahalanobis distance to the nearest
class. Two thresholds are calibrated on images the network did not train on, scored exactly as
at prediction time:

- per crop (used by the per-pixel class map): a quantile of the calibration crops' scores;
- per image (used for the image's ``none_of_these``): a quantile of the calibration images'
  mean crop scores. Averaging over many crops first makes this decision far sharper than
  counting novel crops.
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

    def calibrate(
        self, crop_scores: np.ndarray, image_scores: np.ndarray, quantile: float = 0.95
    ) -> None:
        """Set both thresholds so that ``1 - quantile`` of known crops / images are novel."""
        crop_scores = np.asarray(crop_scores, dtype=np.float64)
        image_scores = np.asarray(image_scores, dtype=np.float64)
        self.threshold = float(np.quantile(crop_scores, quantile))
        self.width = float(max(np.std(crop_scores) * 0.1, 1e-6))
        self.image_threshold = float(np.quantile(image_scores, quantile))
        self.image_width = float(max(np.std(image_scores) * 0.1, 1e-6))

    def novelty(self, emb: np.ndarray) -> np.ndarray:
        """Probability-like "none of these" value per crop in [0, 1]."""
        return _sigmoid((self.score(emb) - self.threshold) / self.width)

    def image_novelty(self, emb: np.ndarray) -> float:
        """"None of these" value in [0, 1] of an image from the embeddings of its crops."""
        return float(_sigmoid((self.score(emb).mean() - self.image_threshold)
                              / self.image_width))
