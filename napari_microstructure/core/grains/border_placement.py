"""Put each grain border on the right pixel: a learned one-pixel correction of the watershed.

The watershed puts a border somewhere on the crest of the boundary map, but a wide etched line
is a plateau there, so about a quarter of the border pixels land one pixel off (measured on
synthetic etched micrographs whose true grains are known). For small grains that costs several
points of IoU.

Every *clean crossing* of a border, down a column (three pixels of grain A above, three of
grain B below) and along a row (the same, left to right), is read by a small network: the
boundary map and the image's brightness across the border, in the crossing's column and in two
columns on each side, and where the same border crosses the neighbouring columns. It says
whether the true border lies one pixel before, on, or one pixel after the one drawn, and the
pixel moves to the other grain where that is the likeliest answer. Rows and columns are handled
alike (a transposed image gives the transposed result).

The network (``models/border_placement.pt``) is trained by ``scripts/train_border_placement.py``
on synthetic etched micrographs segmented by the built-in learned engine, which applies it to
grey images (:func:`..refine.learned_boundary.segment_grains`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import numpy as np

#: Pixels of one grain each side of a clean crossing; the profile read is 2 * WINDOW + 2 long.
WINDOW = 3
#: Columns read on each side of the crossing's column.
SIDE_COLUMNS = 2
#: The shipped network (trained by scripts/train_border_placement.py).
BUILTIN_BORDER_MODEL = Path(__file__).resolve().parents[2] / "models" / "border_placement.pt"
#: Crossings read at once (bounds the memory of the features: about 400 bytes each).
CHUNK = 65536


def colour_of(image: np.ndarray) -> np.ndarray:
    """``(H, W, C)`` float32 image scaled to about ``[0, 1]`` by its 0.5 and 99.5 percentiles."""
    a = np.asarray(image)
    a = (a[..., None] if a.ndim == 2 else a[..., :3]).astype(np.float32)
    lo, hi = np.percentile(
        a[:: max(1, a.shape[0] // 512), :: max(1, a.shape[1] // 512)], (0.5, 99.5)
    )
    return (a - lo) / max(float(hi - lo), 1e-6)


def crossings(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, cols)`` of the clean crossings down the columns of ``labels``.

    A crossing at ``(r, c)`` has ``labels[r, c] != labels[r + 1, c]`` with ``WINDOW`` pixels of
    one grain from row ``r`` up and of the other from row ``r + 1`` down.
    """
    h = labels.shape[0]
    r, c = np.nonzero(labels[:-1] != labels[1:])
    keep = (r >= WINDOW) & (r + WINDOW + 1 < h)
    r, c = r[keep], c[keep]
    above, below = labels[r, c], labels[r + 1, c]
    for k in range(1, WINDOW):
        ok = (labels[r - k, c] == above) & (labels[r + 1 + k, c] == below)
        r, c, above, below = r[ok], c[ok], above[ok], below[ok]
    return r, c


def crossing_features(
    labels: np.ndarray, bmap: np.ndarray, colour: np.ndarray, rows: np.ndarray, cols: np.ndarray
) -> np.ndarray:
    """Features ``(n, 94)`` of the crossings ``(rows, cols)`` of :func:`crossings`."""
    h, w = labels.shape
    span = np.arange(-WINDOW, WINDOW + 2)
    rr = rows[:, None] + span
    prof = bmap[rr, cols[:, None]]
    col = colour[rr, cols[:, None]]  # (n, 8, C)
    up, down = col[:, :2].mean(1, keepdims=True), col[:, -2:].mean(1, keepdims=True)
    d_up, d_down = np.linalg.norm(col - up, axis=2), np.linalg.norm(col - down, axis=2)
    side = (d_up - d_down) / (d_up + d_down + 1e-3)
    grey = col.mean(2)
    mean, std = grey.mean(1, keepdims=True), grey.std(1, keepdims=True) + 1e-3
    above, below = labels[rows, cols], labels[rows + 1, cols]
    where, patches = [], []
    for dc in range(-SIDE_COLUMNS, SIDE_COLUMNS + 1):
        if dc == 0:
            continue
        cc = np.clip(cols + dc, 0, w - 1)
        pos = np.full(len(rows), 3.0, np.float32)  # 3: the border does not cross nearby
        for k in range(2, -3, -1):
            r2 = np.clip(rows + k, 0, h - 2)
            pos[(labels[r2, cc] == above) & (labels[r2 + 1, cc] == below)] = k
        where.append(pos)
        patches.append(bmap[rr, cc[:, None]])
        patches.append((colour[rr, cc[:, None]].mean(2) - mean) / std)
    feats = [
        prof,
        side,
        (grey - mean) / std,
        np.stack(where, 1),
        np.full((len(rows), 1), float(colour.shape[-1] > 1)),
        np.linalg.norm(up[:, 0] - down[:, 0], axis=1)[:, None],
        *patches,
    ]
    return np.concatenate(feats, axis=1).astype(np.float32)


def oriented(*arrays: np.ndarray) -> Iterator[tuple[bool, list[np.ndarray]]]:
    """The arrays as read down the columns, then transposed (first two axes) along the rows."""
    yield False, list(arrays)
    yield True, [a.swapaxes(0, 1) for a in arrays]


class BorderModel:
    """The crossing classifier: standardised features -> P(shift -1, 0, +1)."""

    def __init__(self, state: dict) -> None:
        self.mean = np.asarray(state["mean"], np.float32)
        self.std = np.asarray(state["std"], np.float32)
        self.net = build_net(len(self.mean), int(state.get("hidden", 128)))
        self.net.load_state_dict(state["net"])
        self.net.eval()
        self.meta = state.get("meta", {})

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities ``(n, 3)`` for shifts -1, 0, +1."""
        import torch

        x = torch.from_numpy((features - self.mean) / self.std)
        with torch.no_grad():
            return torch.softmax(self.net(x), 1).numpy()


def build_net(n_features: int, hidden: int = 128):  # noqa: ANN201 - torch module
    """The crossing classifier's network (a small multilayer perceptron)."""
    from torch import nn

    return nn.Sequential(
        nn.Linear(n_features, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden // 2),
        nn.ReLU(),
        nn.Linear(hidden // 2, 3),
    )


@functools.lru_cache(maxsize=2)
def _load(path: str, mtime: float) -> BorderModel:
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        return BorderModel(state)
    except Exception as exc:  # noqa: BLE001 - any unreadable file gets one clear message
        raise ValueError(f"{path} is not a border placement model ({exc})") from exc


def border_model(path: str | Path | None = None) -> BorderModel:
    """The border placement network at ``path`` (default: the shipped one), loaded once."""
    p = Path(path or BUILTIN_BORDER_MODEL)
    if not p.is_file():
        raise FileNotFoundError(f"border placement model not found: {p}")
    return _load(str(p.resolve()), p.stat().st_mtime)


def place_borders(
    labels: np.ndarray,
    bmap: np.ndarray,
    image: np.ndarray,
    model: BorderModel | None = None,
) -> np.ndarray:
    """``labels`` with border pixels moved to the neighbouring grain where ``model`` says so.

    Parameters
    ----------
    labels
        Grain labels (a full tessellation) segmented from ``bmap``.
    bmap
        The boundary map they were segmented from (the built-in learned map).
    image
        The micrograph (grey or RGB).
    model
        A :class:`BorderModel` (default: the shipped one).
    """
    model = model or border_model()
    colour = colour_of(image)
    flat_target: list[np.ndarray] = [np.zeros(0, np.int64)]
    flat_value: list[np.ndarray] = [np.zeros(0, labels.dtype)]
    w = labels.shape[1]
    for transposed, (lab, bm, col) in oriented(labels, bmap.astype(np.float32), colour):
        rows, cols = crossings(lab)
        for a in range(0, len(rows), CHUNK):
            r, c = rows[a : a + CHUNK], cols[a : a + CHUNK]
            p = model(crossing_features(lab, bm, col, r, c))
            shift = p.argmax(1) - 1
            up, down = shift == -1, shift == 1
            # -1: the pixel above the border joins the grain below; +1 the reverse
            tr = np.concatenate([r[up], r[down] + 1])
            tc = np.concatenate([c[up], c[down]])
            value = np.concatenate([lab[r[up] + 1, c[up]], lab[r[down], c[down]]])
            if transposed:
                tr, tc = tc, tr
            flat_target.append(tr.astype(np.int64) * w + tc)
            flat_value.append(value)
    out = labels.copy()
    target, value = np.concatenate(flat_target), np.concatenate(flat_value)
    if target.size == 0:
        return out
    # a pixel told to join two different grains (by its row and its column) stays
    order = np.lexsort((value, target))
    target, value = target[order], value[order]
    first = np.r_[True, target[1:] != target[:-1]]
    start = np.flatnonzero(first)
    lo, hi = value[start], value[np.r_[start[1:], len(value)] - 1]
    agree = lo == hi
    out.ravel()[target[start][agree]] = lo[agree]
    return out


def crossing_targets(
    labels: np.ndarray, truth: np.ndarray, rows: np.ndarray, cols: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The true shift (-1, 0, +1) of each crossing, and whether it is defined.

    Each label stands for the true grain it overlaps most. A crossing has a target where the
    true grains across its profile are those two, one run of each in the same order, and the
    true border lies at most one pixel from the drawn one.
    """
    lab, tru = labels.astype(np.int64), truth.astype(np.int64)
    n_true = int(tru.max()) + 1
    key = lab * n_true + tru
    pairs, counts = np.unique(key, return_counts=True)
    order = np.lexsort((counts, pairs // n_true))  # by label, then overlap: largest last
    last = order[np.r_[(pairs // n_true)[order][1:] != (pairs // n_true)[order][:-1], True]]
    best = np.zeros(int(lab.max()) + 1, np.int64)
    best[pairs[last] // n_true] = pairs[last] % n_true
    a, b = best[lab[rows, cols]], best[lab[rows + 1, cols]]
    profile = tru[rows[:, None] + np.arange(-WINDOW, WINDOW + 2), cols[:, None]]
    is_a, is_b = profile == a[:, None], profile == b[:, None]
    n_a = is_a.sum(1)
    one_run = ~(is_a & (np.arange(profile.shape[1]) >= n_a[:, None])).any(1)
    shift = n_a - (WINDOW + 1)
    valid = (is_a | is_b).all(1) & (a != b) & one_run & (np.abs(shift) <= 1)
    return shift, valid
