"""Per-class Gaussian density on the embedding: how far a crop is from everything it has seen.

Each class gets its own mean and covariance (Ledoit-Wolf shrinkage, stable with a few hundred
crops in 64 dimensions). A crop's novelty score is its Mahalanobis distance to the nearest
class. An image's novelty score is, for each class, the log of its crops' mean distance to
that class, standardised by how that value spreads over the class's own images; the image's
score is the smallest over the classes ("how unusual would this image be for the class it
most resembles", in standard deviations). Averaging many crops first makes this decision far
sharper than counting novel crops, and standardising per class lets a class whose images
vary a lot (uneven etch, dust) keep a wider band than a uniform one.

The thresholds come from :meth:`ClassDensity.cross_fit`: the training images are split into
folds, each fold is scored with densities fitted on the other folds, and the thresholds are
quantiles of these out-of-fold scores. Scores of the images a density was fitted on are too
tight to calibrate with; out-of-fold scores behave like those of new images. One random split
moves the thresholds (and the per-class location and spread) by chance, so the split is drawn
several times and they are averaged over the splits.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..progress import Progress, rescaled


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def _folds(img_labels: np.ndarray, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """Fold number of each image, balanced within each class; -1 (never held out) for the
    image of a class that has only one."""
    fold = np.full(len(img_labels), -1)
    for k in np.unique(img_labels):
        idx = np.flatnonzero(img_labels == k)
        if len(idx) > 1:
            fold[idx] = (rng.permutation(len(idx)) + int(rng.integers(n_folds))) % n_folds
    return fold


@dataclass
class ClassDensity:
    """Class means ``(K, D)``, precisions ``(K, D, D)`` and the novelty thresholds.

    ``class_loc`` and ``class_spread`` (``(K,)``) are the mean and standard deviation of
    ``log(mean crop distance)`` of each class's own images, out of fold.
    """

    means: np.ndarray
    precisions: np.ndarray
    threshold: float = np.inf
    width: float = 1.0
    image_threshold: float = np.inf
    image_width: float = 1.0
    class_loc: np.ndarray | None = None
    class_spread: np.ndarray | None = None

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

    @classmethod
    def cross_fit(
        cls,
        emb: np.ndarray,
        owner: np.ndarray,
        labels: np.ndarray,
        n_classes: int,
        n_folds: int = 3,
        quantile: float = 0.97,
        image_quantile: float = 0.99,
        rng: np.random.Generator | None = None,
        repeats: int = 1,
    ) -> Generator[Progress, None, tuple[ClassDensity, dict]]:
        """Fit on all crops ``emb`` (of images ``owner``, classes ``labels[owner]``) and set
        the thresholds from out-of-fold scores: ``1 - quantile`` of known crops and
        ``1 - image_quantile`` of known images fall beyond them.

        With ``repeats`` > 1 the images are split into folds that many times, independently,
        and the thresholds are the mean of those of every split (one split alone moves them
        by chance).

        A class with a single image cannot hold it out: it stays in every fold's fit and its
        own scores are in-sample (too tight); the record lists such classes.

        Yields a Progress per fold fitted (a long calibration can be cancelled); returns
        the density and a record (folds and splits used, whether out of fold, the
        classes calibrated in-sample).
        """
        rng = rng or np.random.default_rng(0)
        owner = np.asarray(owner)
        images = np.unique(owner)
        img_lab = labels[images]
        per_class = np.bincount(img_lab, minlength=n_classes)
        several = per_class[per_class > 1]
        folds = int(min(n_folds, several.min())) if len(several) else 1
        density = cls.fit(emb, labels[owner], n_classes)
        if folds < 2:  # too few images per class to hold any out: in-sample, too tight
            dists = [density.distances(emb)]
        else:
            n = max(repeats, 1)
            dists = []
            for r in range(n):
                part = density._out_of_fold(emb, owner, images, labels, folds, rng)
                msg = f"calibrating 'none of these': split {r + 1}/{n}"
                dists.append(
                    (yield from rescaled(part, r * folds, (r + 1) * folds, n * folds, msg))
                )
        density._set_thresholds(dists, owner, images, img_lab, quantile, image_quantile)
        record = {
            "calibration_folds": folds,
            "calibration_splits": len(dists),
            "calibration_out_of_fold": folds >= 2,
            "calibration_in_sample_classes": [
                int(k) for k in range(n_classes) if per_class[k] < 2 or folds < 2
            ],
        }
        return density, record

    def _out_of_fold(
        self,
        emb: np.ndarray,
        owner: np.ndarray,
        images: np.ndarray,
        labels: np.ndarray,
        folds: int,
        rng: np.random.Generator,
    ) -> Generator[Progress, None, np.ndarray]:
        """Distance ``(N, K)`` of every crop to every class, from densities that never saw
        its image (one random split of the images into ``folds``); the crops of a class's
        only image get in-sample distances (from ``self``, fitted on all crops)."""
        n_classes = len(self.means)
        dist = np.zeros((len(emb), n_classes))
        img_fold = _folds(labels[images], folds, rng)
        crop_fold = img_fold[np.searchsorted(images, owner)]
        for f in range(folds):
            part = self.fit(emb[crop_fold != f], labels[owner[crop_fold != f]], n_classes)
            dist[crop_fold == f] = part.distances(emb[crop_fold == f])
            yield Progress(f + 1, folds, "calibrating 'none of these'")
        dist[crop_fold < 0] = self.distances(emb[crop_fold < 0])
        return dist

    def _set_thresholds(
        self,
        dists: list[np.ndarray],
        owner: np.ndarray,
        images: np.ndarray,
        img_lab: np.ndarray,
        quantile: float,
        image_quantile: float,
    ) -> None:
        """Thresholds from the crop distances ``(N, K)`` of one or more calibration splits:
        per-class location and spread and the quantiles, averaged over the splits."""
        k = len(self.means)
        locs, spreads, log_means = [], [], []
        for dist in dists:
            log_mean = np.log(np.stack([dist[owner == i].mean(0) for i in images]))
            own = log_mean[np.arange(len(images)), img_lab]
            loc = np.array([own[img_lab == c].mean() for c in range(k)])
            # within-class pooled spread: differences between the classes' locations excluded
            dof = len(own) - k
            # one image per class: no spread to measure; 0.3 is typical of those measured
            # (0.20-0.37 on the synthetic classes with 2-12 images per class)
            pooled = float(np.sqrt(np.sum((own - loc[img_lab]) ** 2) / dof)) if dof > 0 else 0.3
            spread = np.full(k, max(pooled, 0.02))
            for c in range(k):
                v = own[img_lab == c]
                if len(v) >= 3:  # fewer images: the pooled spread is the better guess
                    spread[c] = max(float(np.std(v, ddof=1)), 0.02)
            locs.append(loc)
            spreads.append(spread)
            log_means.append(log_mean)
        self.class_loc, self.class_spread = np.mean(locs, 0), np.mean(spreads, 0)
        crop_scores = [d.min(axis=1) for d in dists]
        image_scores = [((lm - self.class_loc) / self.class_spread).min(1) for lm in log_means]
        self.threshold = float(np.mean([np.quantile(c, quantile) for c in crop_scores]))
        self.width = float(max(np.std(crop_scores[0]) * 0.1, 1e-6))
        self.image_threshold = float(
            np.mean([np.quantile(s, image_quantile) for s in image_scores])
        )
        # scores are in spreads: a width under 0.05 of one would make the answer a hard step
        self.image_width = float(max(np.std(image_scores[0]) * 0.1, 0.05))
        if len(images) <= k:  # one image per class: every own score is 0 and the spread a guess
            normal = float(stats.norm.ppf(image_quantile))  # the quantile of a normal score
            self.image_threshold = max(self.image_threshold, normal)

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
        """Novelty of an image from its crops' embeddings (standard deviations beyond the
        typical own-class value of the class it is least unusual for)."""
        log_mean = np.log(np.maximum(self.distances(emb).mean(axis=0), 1e-12))
        k = len(log_mean)
        loc = self.class_loc if self.class_loc is not None else np.zeros(k)
        spread = self.class_spread if self.class_spread is not None else np.ones(k)
        return float(np.min((log_mean - loc) / spread))

    def novelty(self, emb: np.ndarray) -> np.ndarray:
        """Probability-like "none of these" value per crop in [0, 1]."""
        return _sigmoid((self.score(emb) - self.threshold) / self.width)

    def image_novelty(self, emb: np.ndarray) -> float:
        """ "None of these" value in [0, 1] of an image from the embeddings of its crops."""
        return float(_sigmoid((self.image_score(emb) - self.image_threshold) / self.image_width))
