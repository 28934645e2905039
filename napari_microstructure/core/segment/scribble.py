"""Interactive pixel classifier: a few painted strokes per class teach a random forest.

Features are scikit-image's multi-scale intensity, edge and texture filters (per colour channel
for tint-etched images). Features are computed once per image and cached, so re-training after
each new stroke takes about a second and predicting the whole image a few seconds.

A classifier keeps the grey levels of the image it was taught on (its ``intensity``) and reads
every image stored as that one was (the same data type) on that scale: a 12-bit field whose own
range differs (one hot pixel) is classified as it is, not stretched to its own minimum and
maximum. An image of another data type (8-bit taught, 16-bit or float applied) is read on its
own range, as the taught levels would mean other grey levels there.
"""

from __future__ import annotations

import zlib
from collections.abc import Generator
from dataclasses import dataclass

import numpy as np
from skimage.feature import multiscale_basic_features
from sklearn.ensemble import RandomForestClassifier

from ..image_utils import check_segment_size, intensity_range, is_rgb, to_float01
from ..progress import Progress


@dataclass
class PixelPrediction:
    """Class label per pixel (the scribble values) and the winning class's probability."""

    labels: np.ndarray  # same dtype family as the scribbles, (H, W)
    confidence: np.ndarray  # float32 (H, W) in [0, 1]
    classes: np.ndarray  # the scribble values the forest knows, in probability order


def scaled01(image: np.ndarray, intensity: tuple[float, float] | None = None) -> np.ndarray:
    """``image`` as float32 in [0, 1] (alpha left out, NaN 0): grey level ``lo`` of
    ``intensity`` ``(lo, hi)`` is 0 and ``hi`` is 1, levels beyond them clipped; without
    ``intensity``, by the image's own range (:func:`to_float01`)."""
    img = np.asarray(image)
    if intensity is None:
        return to_float01(img)
    if is_rgb(img) and img.shape[-1] == 4:
        img = img[..., :3]
    lo, hi = intensity
    if hi <= lo:
        return np.zeros(img.shape, np.float32)
    out = (img.astype(np.float32) - lo) / (hi - lo)
    return np.clip(np.nan_to_num(out, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)


def pixel_features(
    image: np.ndarray, sigma_max: float = 16.0, intensity: tuple[float, float] | None = None
) -> np.ndarray:
    """``(H, W, F)`` float32 multi-scale features of a grey or RGB image, read on the grey
    levels ``intensity`` (:func:`scaled01`; default the image's own)."""
    img = scaled01(image, intensity)
    rgb = is_rgb(img)
    feats = multiscale_basic_features(
        img[..., :3] if rgb else img,
        intensity=True,
        edges=True,
        texture=True,
        sigma_min=1.0,
        sigma_max=sigma_max,
        channel_axis=-1 if rgb else None,
    )
    return feats.astype(np.float32)


class ScribbleClassifier:
    """Random-forest pixel classifier trained from sparse strokes (0 = not painted).

    Use :meth:`set_image` once per image, then :meth:`fit` with the scribbles and
    :meth:`predict` (or the generator :meth:`predict_steps`) as often as strokes change;
    :meth:`adopt` classifies another image with a forest fitted on the strokes of one.
    """

    def __init__(
        self,
        n_estimators: int = 50,
        max_depth: int | None = 16,
        max_samples_per_class: int = 20000,
        sigma_max: float = 16.0,
        seed: int = 0,
    ):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.max_samples_per_class = max_samples_per_class
        self.sigma_max = sigma_max
        self.seed = seed
        self._features: np.ndarray | None = None
        self._image_key: tuple | None = None
        self._forest: RandomForestClassifier | None = None
        self._colour: bool | None = None  # whether the image (of the forest) is a colour one
        self._intensity: tuple[float, float] | None = None  # its grey levels read as 0 and 1
        self._dtype: str | None = None  # the data type of its image (its grey levels' meaning)

    @property
    def has_image(self) -> bool:
        return self._features is not None

    @property
    def is_fitted(self) -> bool:
        return self._forest is not None

    @property
    def intensity(self) -> tuple[float, float] | None:
        """The grey levels ``(lo, hi)`` its image's features read as 0 and 1 (None before
        :meth:`set_image`): of the image it was taught on, the scale of every image it
        classifies (:func:`apply_classifier`)."""
        return self._intensity

    def scale_for(self, image: np.ndarray) -> tuple[float, float] | None:
        """The grey levels to read ``image`` on when this classifier classifies it: its own
        image's (:attr:`intensity`) for an image of the same data type, None (the image's own
        range) for another (8-bit levels mean nothing on a 16-bit or float scale)."""
        return self._intensity if np.asarray(image).dtype.str == self._dtype else None

    def set_image(self, image: np.ndarray, intensity: tuple[float, float] | None = None) -> None:
        """Compute (and cache) the features of ``image`` read on the grey levels ``intensity``
        ``(lo, hi)`` (default its own :func:`intensity_range`); a new image (or scale) forgets
        the old forest."""
        image = np.asarray(image)
        if image.ndim not in (2, 3) or (image.ndim == 3 and not is_rgb(image)):
            raise ValueError(f"expected a 2-D grey or RGB image, got shape {image.shape}")
        own = intensity is None
        scale = intensity_range(image) if own else (float(intensity[0]), float(intensity[1]))
        # by content, not id(): an array edited in place, or a new one at a freed array's
        # address, is another image (the checksum: 1 ms for 2048 x 2048 uint8, the features 5 s)
        crc = zlib.crc32(np.ascontiguousarray(image).data)
        key = (image.shape, image.dtype.str, crc, scale)
        if self._features is not None and key == self._image_key:
            return
        check_feature_size(image.shape[:2], image.ndim == 3)
        # (an image on its own scale: exactly the features it always had)
        self._features = pixel_features(image, self.sigma_max, None if own else scale)
        self._image_key = key
        self._forest = None
        self._colour = is_rgb(image)
        self._intensity = scale
        self._dtype = image.dtype.str

    def check_applicable(self, image: np.ndarray) -> None:
        """Raise ValueError unless this fitted classifier can classify ``image`` (not trained,
        or taught on a grey image and ``image`` is a colour one, or the reverse)."""
        if self._forest is None:
            raise ValueError("the pixel classifier is not trained yet")
        colour = is_rgb(np.asarray(image))
        if colour != self._colour:
            kinds = ("a colour", "a grey") if self._colour else ("a grey", "a colour")
            raise ValueError(
                f"it was taught on {kinds[0]} image and this is {kinds[1]} one; paint scribbles "
                "on this image (in a new scribbles layer) to teach it"
            )

    def adopt(self, fitted: ScribbleClassifier) -> ScribbleClassifier:
        """Classify this classifier's image with the forest ``fitted`` learned on another image's
        strokes (no retraining; a later :meth:`fit` of ``fitted`` does not change it). The image
        must have been set on the grey levels ``fitted`` reads it on:
        ``set_image(image, fitted.scale_for(image))``.

        Raises
        ------
        ValueError : no image set, ``fitted`` not trained, features that do not match, or an
        image of ``fitted``'s data type read on other grey levels than ``fitted``'s.
        """
        if self._features is None:
            raise ValueError("set an image before applying a pixel classifier")
        forest = fitted._forest
        if forest is None:
            raise ValueError("the pixel classifier is not trained yet")
        if forest.n_features_in_ != self._features.shape[-1]:  # e.g. a grey and a colour image
            raise ValueError(
                f"the pixel classifier knows {forest.n_features_in_} features a pixel and this "
                f"image has {self._features.shape[-1]}"
            )
        # its features would mean other grey levels
        if fitted._dtype == self._dtype and fitted._intensity != self._intensity:
            raise ValueError(
                f"the image was read on grey levels {self._intensity} and the pixel classifier "
                f"was taught on {fitted._intensity}: set it with set_image(image, "
                "fitted.scale_for(image))"
            )
        self._forest = forest
        return self

    def fit(self, scribbles: np.ndarray) -> ScribbleClassifier:
        """Train on the painted pixels of ``scribbles`` (same size as the image; 0 = none).

        Raises
        ------
        ValueError : no image set, wrong size, or fewer than two classes painted.
        """
        if self._features is None:
            raise ValueError("set an image before training the pixel classifier")
        s = np.asarray(scribbles)
        if s.shape != self._features.shape[:2]:
            raise ValueError(
                f"scribbles of shape {s.shape} do not match the image {self._features.shape[:2]}"
            )
        classes = np.unique(s[s > 0])
        if len(classes) < 2:
            raise ValueError("paint strokes of at least two classes (two label colours)")
        rng = np.random.default_rng(self.seed)
        idx = []
        for c in classes:
            where = np.flatnonzero(s.ravel() == c)
            if len(where) > self.max_samples_per_class:
                where = rng.choice(where, self.max_samples_per_class, replace=False)
            idx.append(where)
        flat = np.concatenate(idx)
        x = self._features.reshape(-1, self._features.shape[-1])[flat]
        y = s.ravel()[flat]
        forest = RandomForestClassifier(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            n_jobs=1,
            random_state=self.seed,
            class_weight="balanced",
        )
        self._forest = forest.fit(x, y)
        return self

    def predict_steps(
        self, rows_per_step: int = 128
    ) -> Generator[Progress, None, PixelPrediction]:
        """Predict every pixel of the image, a band of rows per progress step."""
        if self._features is None or self._forest is None:
            raise ValueError("train the pixel classifier (fit) before predicting")
        feats, forest = self._features, self._forest
        h, w, f = feats.shape
        classes = forest.classes_
        labels = np.zeros((h, w), dtype=classes.dtype)
        conf = np.zeros((h, w), dtype=np.float32)
        n_steps = -(-h // rows_per_step)
        for i, r in enumerate(range(0, h, rows_per_step)):
            band = feats[r : r + rows_per_step].reshape(-1, f)
            proba = forest.predict_proba(band)
            best = proba.argmax(1)
            labels[r : r + rows_per_step] = classes[best].reshape(-1, w)
            conf[r : r + rows_per_step] = proba.max(1).reshape(-1, w)
            yield Progress(i + 1, n_steps, f"classified rows {min(r + rows_per_step, h)}/{h}")
        return PixelPrediction(labels, conf, classes)

    def predict(self) -> PixelPrediction:
        """Blocking form of :meth:`predict_steps`."""
        gen = self.predict_steps()
        while True:
            try:
                next(gen)
            except StopIteration as stop:
                return stop.value


def classify_with_scribbles(
    image: np.ndarray, scribbles: np.ndarray, classifier: ScribbleClassifier | None = None
) -> Generator[Progress, None, PixelPrediction]:
    """Features (cached in ``classifier``), training and prediction of every pixel."""
    clf = classifier or ScribbleClassifier()
    yield Progress(0, 3, "computing image features")
    clf.set_image(image)
    yield Progress(1, 3, "training the pixel classifier")
    clf.fit(scribbles)
    yield Progress(2, 3, "classifying every pixel")
    return (yield from clf.predict_steps())


def apply_classifier(
    image: np.ndarray, fitted: ScribbleClassifier, classifier: ScribbleClassifier | None = None
) -> Generator[Progress, None, PixelPrediction]:
    """Classify every pixel of ``image`` with a classifier ``fitted`` on the strokes of another
    image, without retraining; the features of ``image`` are cached in ``classifier``.

    ``image`` is read on the grey levels of the image ``fitted`` was taught on (clipped), not
    stretched to its own range: one hot pixel of a 16-bit field changes no class. An image of
    another data type is read on its own range (:meth:`ScribbleClassifier.scale_for`).
    """
    fitted.check_applicable(image)
    clf = classifier or ScribbleClassifier(sigma_max=fitted.sigma_max)
    yield Progress(0, 2, "computing image features")
    clf.set_image(image, fitted.scale_for(image))
    clf.adopt(fitted)
    yield Progress(1, 2, "classifying every pixel")
    return (yield from clf.predict_steps())


#: the features' peak memory a pixel (grey, colour), in float64 and float32: 250 bytes
#: measured (grey), 555 (RGB)
FEATURE_BYTES = (250.0, 560.0)


def check_feature_size(shape: tuple[int, int], rgb: bool) -> None:
    """Refuse a plane of ``shape`` (rows, cols) whose features would not fit in memory (from
    its shape alone: a dock checks a montage before reading its strokes).

    Raises
    ------
    ValueError : too large, with the largest crop that fits.
    """
    check_segment_size(tuple(shape), FEATURE_BYTES[bool(rgb)])
