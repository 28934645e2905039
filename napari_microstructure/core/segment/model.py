"""A trained segmentation model with what it needs to be used again: file format and loading.

A model file (``.pt``) is a plain dictionary of tensors, numbers and strings (loadable with
``torch.load(weights_only=True)``): the network's constructor arguments and weights, the task
("phases" or "boundaries"), the class names, the pixel size it was trained at, the list of
training images and the validation metrics.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..atomic import atomic_file
from .unet import UNet

FORMAT = "napari-microstructure-segmentation"
VERSION = 1
TASKS = ("phases", "boundaries")


@dataclass
class SegModel:
    """A U-Net with its task, classes and provenance."""

    net: UNet
    task: str
    classes: list[str]
    pixel_size: float | None = None
    training_data: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    #: phase classes no training pixel taught (:func:`.data.untaught_classes`): never predicted
    untaught: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; use one of {', '.join(TASKS)}")
        if len(self.classes) != self.net.n_classes:
            raise ValueError(
                f"{len(self.classes)} class names for a network with {self.net.n_classes} outputs"
            )

    @property
    def in_channels(self) -> int:
        return self.net.in_channels

    @property
    def n_classes(self) -> int:
        return self.net.n_classes

    def save(self, path: str | Path) -> Path:
        """Write the model file; parent folders are created."""
        path = Path(path)
        payload = {
            "format": FORMAT,
            "version": VERSION,
            "task": self.task,
            "classes": list(self.classes),
            "pixel_size": self.pixel_size,
            "hparams": self.net.hparams(),
            "state_dict": {k: v.detach().cpu() for k, v in self.net.state_dict().items()},
            "training_data": [str(p) for p in self.training_data],
            "metrics": _plain(self.metrics),
            "config": _plain(self.config),
            "untaught": [int(k) for k in self.untaught],
        }
        with atomic_file(path) as fh:  # no half-written file is ever left behind
            torch.save(payload, fh)
        self.path = path
        return path


def cache_model_path(task: str) -> Path:
    """A new file in the plugin's cache folder for a model nobody gave a name."""
    from ..paths import cache_dir

    return cache_dir() / "segment" / f"{task}-{time.strftime('%Y%m%d-%H%M%S')}.pt"


def save_or_keep(model: SegModel, out: str | Path) -> str | None:
    """Save ``model`` as ``out``, or in the cache folder if that fails (a long training is not
    lost); returns what went wrong (None: saved as ``out``). ``model.path`` is where it was
    saved, None when nowhere."""
    model.path = None
    try:
        model.save(Path(out))
        return None
    except (OSError, RuntimeError) as exc:  # torch.save on a full disk: RuntimeError
        problem = f"could not save the model as {out} ({getattr(exc, 'strerror', None) or exc})"
    try:
        model.save(cache_model_path(model.task))
    except (OSError, RuntimeError):
        pass  # model.path stays None: kept in memory only
    return problem


def check_save_path(path: str | Path) -> Path:
    """Check that a model can be saved as ``path`` (before a long training, not after it).

    Raises
    ------
    ValueError : ``path`` is a folder, or its nearest existing parent is not a writable folder.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give the model a file name (.pt)")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:  # save() creates the missing ones
        parent = parent.parent
    if not parent.is_dir():
        raise ValueError(f"cannot save the model as {path}: {parent} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"cannot save the model as {path}: {parent} is not writable")
    return path


def new_model(
    task: str,
    classes: list[str],
    in_channels: int = 1,
    base: int = 16,
    depth: int = 4,
    pixel_size: float | None = None,
) -> SegModel:
    """An untrained model (random weights) for ``task`` with the given class names."""
    net = UNet(in_channels=in_channels, n_classes=len(classes), base=base, depth=depth)
    return SegModel(net=net, task=task, classes=list(classes), pixel_size=pixel_size)


def load_model(path: str | Path) -> SegModel:
    """Read a model file written by :meth:`SegModel.save`.

    Raises
    ------
    FileNotFoundError, ValueError : with a message saying what is wrong with the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"segmentation model not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling problem means "not our file"
        # torch's own text (chained, for the log) suggests loading without weights_only: not
        # advice to pass on to a user
        raise ValueError(
            f"{path} is not a readable segmentation model: damaged, or not saved by "
            "napari-microstructure"
        ) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a napari-microstructure segmentation model")
    net = UNet(**payload["hparams"])
    net.load_state_dict(payload["state_dict"])
    net.eval()
    return SegModel(
        net=net,
        task=payload["task"],
        classes=list(payload["classes"]),
        pixel_size=payload.get("pixel_size"),
        training_data=list(payload.get("training_data", [])),
        metrics=dict(payload.get("metrics", {})),
        config=dict(payload.get("config", {})),
        path=path,
        untaught=[int(k) for k in payload.get("untaught", [])],
    )


def as_model(model: SegModel | str | Path) -> SegModel:
    """Accept a loaded model or a path to one."""
    return model if isinstance(model, SegModel) else load_model(model)


def _plain(obj: Any) -> Any:
    """Numbers, strings, lists and dicts only, so the file loads with ``weights_only=True``."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, bool | int | str) or obj is None:
        return obj
    if isinstance(obj, float):
        return float(obj)
    if hasattr(obj, "item"):
        return obj.item()
    return str(obj)


def load_matching(net: torch.nn.Module, state: dict) -> int:
    """Copy every tensor whose name and shape match (a new head keeps its fresh weights)."""
    own = net.state_dict()
    matched = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    own.update(matched)
    net.load_state_dict(own)
    return len(matched)
