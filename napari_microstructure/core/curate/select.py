"""Batch selection for the active-learning queue: uncertain images, spread over what is new.

Ranking by uncertainty alone fills the first places with near-duplicates (ten images of the one
kind the model is unsure of), or with oddities unlike anything else in the pool.
:func:`queue_order` orders the images greedily: each next image maximises

    uncertainty (rescaled to [0, 1] over the pool) + ``weight`` * novelty,

where novelty is the embedding distance to the nearest labelled (reference) image *or image
already queued*, relative to the largest such distance at the start (a k-center-greedy coverage
term). Queuing an image lowers the novelty of its look-alikes, so the next places go to other
kinds of images; a copy of a queued or labelled image (the same features) goes to the end of
the queue, and copies and look-alikes are not each other's neighbours for the
representativeness below.

With the labelled set's class counts, :func:`queue_order` adds ``rarity`` * class gain: an image's
detections (confidence-weighted, per class) are what labelling it adds to each class, and the
value of a labelled set is taken as sum over classes of log(1 + count) (diminishing returns per
class), so the gain of an image is

    sum_c log(1 + n_c + m_c) - log(1 + n_c),

n_c = labelled objects of class c (plus those predicted in the images queued before), m_c = the
image's predicted objects of class c; relative to the largest gain at the start. A class the
labelled set lacks makes its images worth more until a few of them are queued.

With ``density`` = beta > 0 the uncertainty is first weighted by how representative each image
is of the pool (information density): (median k-NN distance / the image's mean distance to its
``neighbours`` nearest pool images) ** beta. An outlier the model is unsure of then counts for
less than an uncertain image that stands for many others like it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

#: Representativeness exponent of the queue by default (rank_images, `rank`, the Curate dock).
DENSITY = 1.0


class QueueOrder(NamedTuple):
    """Greedy queue order and, per picked image, the terms it was picked on."""

    order: np.ndarray  # pool indices, first to queue first
    priority: np.ndarray  # greedy value at the pick (non-increasing)
    novelty: np.ndarray  # novelty (0..1) at the pick
    gain: np.ndarray  # class gain (0..1) at the pick; zeros without class counts
    density: np.ndarray  # representativeness of the picked image (1 = pool median)


def class_gain(mass: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per image, sum over classes of log(1 + counts + mass) - log(1 + counts) (nats)."""
    m = np.clip(np.asarray(mass, dtype=np.float64), 0.0, None)
    n = np.clip(np.asarray(counts, dtype=np.float64), 0.0, None)
    return (np.log1p(n[None, :] + m) - np.log1p(n)[None, :]).sum(axis=1)


def standardize(vectors: np.ndarray, reference: np.ndarray | None = None) -> tuple:
    """Z-score each embedding dimension over pool and reference together (no dimension
    dominates by its scale); returns (pool, reference) standardized, reference may be None."""
    pool = np.asarray(vectors, dtype=np.float64)
    ref = None if reference is None or not len(reference) else np.asarray(reference, np.float64)
    both = pool if ref is None else np.vstack([pool, ref])
    mu, sd = both.mean(axis=0), both.std(axis=0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    return (pool - mu) / sd, (None if ref is None else (ref - mu) / sd)


#: features closer than this share of the pool's median distance are the same image (a file
#: twice in the folder, or an image already labelled)
SAME_IMAGE = 1e-3


def representativeness(pool: np.ndarray, neighbours: int = 5) -> np.ndarray:
    """Per image, median over the pool of the mean distance to the ``neighbours`` nearest other
    images, divided by the image's own (> 1 = in a denser part of the pool than most; capped
    at 10). Copies and look-alikes (:data:`LOOK_ALIKE`) of an image are not its neighbours.
    All ones for fewer than two images."""
    inner = _distances(pool, pool)
    return _representativeness(inner, neighbours, _same_image(inner))


def _same_image(inner: np.ndarray) -> float:
    """The distance below which two images of the pool count as the same image."""
    pairs = inner[np.triu_indices(len(inner), 1)]
    if not pairs.size:
        return 0.0
    pairs = pairs[pairs > 1e-6 * pairs.max()]  # copies differ by rounding noise, not 0
    return SAME_IMAGE * float(np.median(pairs)) if pairs.size else 0.0


#: pool images closer than this fraction of the typical k-NN distance are look-alikes (the same
#: field imaged again): they do not count as each other's neighbours for representativeness
LOOK_ALIKE = 0.1


def _knn(inner: np.ndarray, k: int, below: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean distance of each image to its ``k`` nearest others farther than ``below``, and how
    many such neighbours it has (at most ``k``)."""
    far = np.where(inner > below, inner, np.inf)
    np.fill_diagonal(far, np.inf)
    nearest = np.sort(far, axis=1)[:, :k]
    found = np.isfinite(nearest)
    count = found.sum(axis=1)
    return np.where(found, nearest, 0.0).sum(axis=1) / np.maximum(count, 1), count


def _look_alike(inner: np.ndarray, neighbours: int, same: float) -> tuple[float, float]:
    """The typical k-NN distance of the pool (copies left out) and the look-alike radius
    (:data:`LOOK_ALIKE` of it, at least ``same``); 0, ``same`` for fewer than two images."""
    n = len(inner)
    if n < 2:
        return 0.0, same
    knn, count = _knn(inner, max(1, min(int(neighbours), n - 1)), same)
    typical = float(np.median(knn[count > 0])) if count.any() else 0.0
    return typical, max(same, LOOK_ALIKE * typical)


def _representativeness(inner: np.ndarray, neighbours: int, same: float = 0.0) -> np.ndarray:
    """:func:`representativeness` from the pool's (N, N) distance matrix; images closer than
    ``same`` (copies) or than :data:`LOOK_ALIKE` of the typical k-NN distance do not count as
    each other's neighbours (six re-imaged copies of one field would otherwise make it the most
    representative image of the pool, and take the first six places)."""
    typical, alike = _look_alike(inner, neighbours, same)
    if typical <= 0:
        return np.ones(len(inner))
    knn, count = _knn(inner, max(1, min(int(neighbours), len(inner) - 1)), alike)
    rep = typical / np.maximum(knn, 0.1 * typical)
    return np.where(count > 0, rep, 1.0)  # an image with only look-alikes of itself: typical


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.clip(d2, 0.0, None))


def queue_order(
    scores: np.ndarray,
    embeddings: np.ndarray,
    reference: np.ndarray | None = None,
    weight: float = 1.0,
    mass: np.ndarray | None = None,
    counts: np.ndarray | None = None,
    rarity: float = 0.0,
    density: float = 0.0,
    neighbours: int = 5,
) -> QueueOrder:
    """Greedy queue order of the pool (see the module docstring).

    Parameters
    ----------
    scores : (N,) uncertainty per pool image (higher = less sure).
    embeddings : (N, D) image embeddings of the pool.
    reference : (M, D) embeddings of the labelled images, or None.
    weight : weight of novelty against uncertainty (0 = uncertainty order).
    mass : (N, K) predicted objects per class of each pool image (confidence-weighted).
    counts : (K,) labelled objects per class; with ``mass``, switches on the class gain.
    rarity : weight of the class gain (0 = off).
    density : exponent of the representativeness weighting of the uncertainty (0 = off).
    neighbours : k of the k-NN distance that representativeness is measured by.
    """
    s = np.asarray(scores, dtype=np.float64)
    n = len(s)
    if n == 0:
        return QueueOrder(np.zeros(0, int), *(np.zeros(0) for _ in range(4)))
    if density < 0:
        raise ValueError("density must be >= 0")
    pool, ref = standardize(embeddings, reference)
    inner = _distances(pool, pool)
    same = _same_image(inner)
    rep = _representativeness(inner, neighbours, same)
    # a look-alike of a labelled or queued image (the same field imaged again) adds nothing
    same = _look_alike(inner, neighbours, same)[1]
    if density > 0:
        s = s * rep**density
    span = s.max() - s.min()
    u = (s - s.min()) / span if span > 0 else np.zeros(n)
    copy = np.zeros(n, bool)  # the same image as one labelled or queued: labelling it adds nothing
    if ref is not None:
        d = _distances(pool, ref).min(axis=1)
        if same > 0:
            copy |= d <= same
        scale = float(d.max())
    else:  # nothing labelled: everything is equally new until the first pick
        scale = float(inner.max())
        d = np.full(n, scale)
    scale = scale if scale > 0 else 1.0
    use_gain = rarity > 0 and mass is not None and counts is not None
    if use_gain:
        mass = np.clip(np.asarray(mass, dtype=np.float64), 0.0, None)
        have = np.asarray(counts, dtype=np.float64).copy()
        if mass.shape != (n, len(have)):
            raise ValueError(f"mass must be (N, K) = ({n}, {len(have)}), got {mass.shape}")
        g_scale = float(class_gain(mass, have).max()) or 1.0
    left = np.ones(n, bool)
    order, priority, novelty, gains = [], [], [], []
    for _ in range(n):
        nov = np.minimum(d / scale, 1.0)
        g = np.minimum(class_gain(mass, have) / g_scale, 1.0) if use_gain else np.zeros(n)
        value = np.where(left & ~copy, u + weight * nov + rarity * g, -np.inf)
        i = int(np.argmax(value))  # ties: the lowest index
        if not np.isfinite(value[i]):  # only copies are left: last, in their order, at 0
            i = int(np.argmax(left))
            value[i], nov[i], g[i] = 0.0, 0.0, 0.0
        order.append(i)
        priority.append(float(value[i]))
        novelty.append(float(nov[i]))
        gains.append(float(g[i]))
        left[i] = False
        d = np.minimum(d, inner[i])
        if same > 0:  # all features alike: nothing tells a copy from a look-alike
            copy |= inner[i] <= same
        if use_gain:
            have = have + mass[i]  # what the queued image will add once labelled
    order = np.array(order)
    return QueueOrder(order, np.array(priority), np.array(novelty), np.array(gains), rep[order])
