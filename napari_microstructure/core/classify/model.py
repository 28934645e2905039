"""A trained microstructure classifier: network, classes, crop geometry, density and thresholds."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..atomic import atomic_file
from .density import ClassDensity
from .network import CropNet

NONE_OF_THESE = "none_of_these"
FORMAT = "napari-microstructure-classifier/4"


def name_key(name: str) -> str:
    """A class name as compared: lower case, runs of spaces, hyphens and underscores as one
    underscore."""
    return re.sub(r"[\s_\-]+", "_", name.strip().lower()).strip("_")


def class_name_problem(name: str, existing: Iterable[str] = ()) -> str | None:
    """Why ``name`` cannot be a class of a training set with the classes ``existing`` (None
    when it can): the reserved :data:`NONE_OF_THESE` in any spelling, or a name that differs
    from an existing class only in case, spaces, hyphens or underscores (a second class would
    be trained where one was meant)."""
    key = name_key(name)
    if not key:
        return "a class needs a name"
    if key == NONE_OF_THESE:
        return (
            f"{name!r} is reserved: {NONE_OF_THESE} is the answer for images unlike every "
            "class; give the image's real class"
        )
    for other in existing:
        if other != name and name_key(other) == key:
            return (
                f"{name!r} differs from the existing class {other!r} only in case, spaces or "
                f"underscores; type {other!r} to add to that class, or a distinct name"
            )
    return None


def save_path_problem(path: str | Path) -> str | None:
    """Why a model cannot be saved to ``path`` (None when it can, as far as can be told
    before writing): a folder, a missing or read-only parent folder."""
    path = Path(path)
    if path.is_dir():
        return f"{path} is a folder; give a model file name (.pt)"
    if not path.parent.is_dir():
        return f"the folder {path.parent} does not exist"
    if not os.access(path.parent, os.W_OK):
        return f"the folder {path.parent} is not writable"
    return None


@dataclass
class Classifier:
    """Everything needed to classify a micrograph, saved as one ``.pt`` file.

    Attributes
    ----------
    net
        The crop network (eval mode).
    classes
        Class names, in the order of the network outputs.
    crop_size
        Side in pixels every crop is resampled to.
    zoom_range
        Window side / crop size range used for training (and for prediction crops).
    train_pixel_sizes
        µm/px of every training image (the range the model has seen).
    density
        Per-class density on the embedding with the "none of these" threshold.
    info
        Training record (images per class, steps, seconds, calibration rates ...).
    """

    net: CropNet
    classes: list[str]
    crop_size: int
    zoom_range: tuple[float, float]
    train_pixel_sizes: list[float]
    density: ClassDensity
    info: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def pixel_size_range(self) -> tuple[float, float]:
        """Smallest and largest µm/px of the training images."""
        return float(min(self.train_pixel_sizes)), float(max(self.train_pixel_sizes))

    @property
    def default_pixel_size(self) -> float:
        """Geometric mean of the training pixel sizes (used when an image has none)."""
        return float(np.exp(np.mean(np.log(self.train_pixel_sizes))))

    def save(self, path: str | Path) -> Path:
        """Write the classifier to ``path`` (``.pt``); returns the path."""
        path = Path(path)
        blob = {
            "format": FORMAT,
            "state_dict": self.net.state_dict(),
            "classes": list(self.classes),
            "crop_size": int(self.crop_size),
            "width": int(self.net.stem[0].out_channels),
            "emb_dim": int(self.net.head.in_features),
            "zoom_range": [float(v) for v in self.zoom_range],
            "train_pixel_sizes": [float(v) for v in self.train_pixel_sizes],
            "density_means": torch.from_numpy(self.density.means),
            "density_precisions": torch.from_numpy(self.density.precisions),
            "threshold": float(self.density.threshold),
            "threshold_width": float(self.density.width),
            "image_threshold": float(self.density.image_threshold),
            "image_threshold_width": float(self.density.image_width),
            "class_loc": torch.from_numpy(np.asarray(self.density.class_loc, np.float64)),
            "class_spread": torch.from_numpy(np.asarray(self.density.class_spread, np.float64)),
            "info": _plain(self.info),
        }
        with atomic_file(path) as fh:  # no half-written file is ever left behind
            torch.save(blob, fh)
        self.path = path
        return path


def _plain(obj: Any) -> Any:
    """JSON-like copy (safe for ``torch.load(weights_only=True)``)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


def load_classifier(path: str | Path) -> Classifier:
    """Load a classifier saved by :meth:`Classifier.save`.

    Raises
    ------
    ValueError
        When the file is missing or is not a classifier of this plugin.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"classifier model not found: {path}")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling problem means "not our file"
        # torch's own text (chained, for the log) suggests loading without weights_only: not
        # advice to pass on to a user
        raise ValueError(f"{path} is not a napari-microstructure classifier model") from exc
    fmt = blob.get("format", "") if isinstance(blob, dict) else ""
    if isinstance(fmt, str) and fmt.startswith(FORMAT.rsplit("/", 1)[0]) and fmt != FORMAT:
        raise ValueError(
            f"{path} was saved by an older version of napari-microstructure ({fmt}); "
            "train it again"
        )
    if fmt != FORMAT:
        raise ValueError(f"{path} is not a napari-microstructure classifier model")
    net = CropNet(len(blob["classes"]), width=blob["width"], emb_dim=blob["emb_dim"])
    net.load_state_dict(blob["state_dict"])
    net.eval()
    density = ClassDensity(
        blob["density_means"].numpy(),
        blob["density_precisions"].numpy(),
        float(blob["threshold"]),
        float(blob["threshold_width"]),
        float(blob["image_threshold"]),
        float(blob["image_threshold_width"]),
        blob["class_loc"].numpy(),
        blob["class_spread"].numpy(),
    )
    return Classifier(
        net=net,
        classes=list(blob["classes"]),
        crop_size=int(blob["crop_size"]),
        zoom_range=(float(blob["zoom_range"][0]), float(blob["zoom_range"][1])),
        train_pixel_sizes=list(blob["train_pixel_sizes"]),
        density=density,
        info=dict(blob.get("info", {})),
        path=path,
    )
