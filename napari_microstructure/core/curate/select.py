"""Batch selection for the active-learning queue: uncertain images, spread over what is new.

Ranking by uncertainty alone fills the first places with near-duplicates (ten images of the one
kind the model is unsure of) and ranks images the model is blind to (nothing found at all) low.
:func:`diverse_order` orders the images greedily: each next image maximises

    uncertainty (rescaled to [0, 1] over the pool) + ``weight`` * novelty,

where novelty is the embedding distance to the nearest labelled (reference) image *or image
already queued*, relative to the largest such distance at the start (a k-center-greedy coverage
term). Queuing an image lowers the novelty of its look-alikes, so the next places go to other
kinds of images.
"""

from __future__ import annotations

import numpy as np


def standardize(vectors: np.ndarray, reference: np.ndarray | None = None) -> tuple:
    """Z-score each embedding dimension over pool and reference together (no dimension
    dominates by its scale); returns (pool, reference) standardized, reference may be None."""
    pool = np.asarray(vectors, dtype=np.float64)
    ref = None if reference is None or not len(reference) else np.asarray(reference, np.float64)
    both = pool if ref is None else np.vstack([pool, ref])
    mu, sd = both.mean(axis=0), both.std(axis=0)
    sd = np.where(sd > 1e-12, sd, 1.0)
    return (pool - mu) / sd, (None if ref is None else (ref - mu) / sd)


def _distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.clip(d2, 0.0, None))


def diverse_order(
    scores: np.ndarray,
    embeddings: np.ndarray,
    reference: np.ndarray | None = None,
    weight: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy queue order of the pool (see the module docstring).

    Parameters
    ----------
    scores : (N,) uncertainty per pool image (higher = less sure).
    embeddings : (N, D) image embeddings of the pool.
    reference : (M, D) embeddings of the labelled images, or None.
    weight : weight of novelty against uncertainty (0 = uncertainty order).

    Returns
    -------
    order : (N,) pool indices, first to queue first.
    priority : (N,) the greedy value of each image when it was picked (non-increasing).
    novelty : (N,) its novelty (0..1) when it was picked.
    """
    s = np.asarray(scores, dtype=np.float64)
    n = len(s)
    if n == 0:
        return np.zeros(0, int), np.zeros(0), np.zeros(0)
    span = s.max() - s.min()
    u = (s - s.min()) / span if span > 0 else np.zeros(n)
    pool, ref = standardize(embeddings, reference)
    inner = _distances(pool, pool)
    if ref is not None:
        d = _distances(pool, ref).min(axis=1)
        scale = float(d.max())
    else:  # nothing labelled: everything is equally new until the first pick
        scale = float(inner.max())
        d = np.full(n, scale)
    scale = scale if scale > 0 else 1.0
    left = np.ones(n, bool)
    order, priority, novelty = [], [], []
    for _ in range(n):
        nov = np.minimum(d / scale, 1.0)
        value = np.where(left, u + weight * nov, -np.inf)
        i = int(np.argmax(value))  # ties: the lowest index
        order.append(i)
        priority.append(float(value[i]))
        novelty.append(float(nov[i]))
        left[i] = False
        d = np.minimum(d, inner[i])
    return np.array(order), np.array(priority), np.array(novelty)
