"""Loading ultralytics detection checkpoints offline, with the pixel size they were trained at.

A model's training pixel size (µm/px), class names, input size and metrics live in a sidecar
JSON next to the ``.pt`` (``<name>.json``) and/or in the checkpoint under ``MODEL_INFO_KEY``.
The sidecar wins where both give a value, so a user can fix a wrong pixel size without
rewriting the weights.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import pickle
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..yolo_env import import_ultralytics

log = logging.getLogger(__name__)

MODEL_INFO_KEY = "napari_microstructure"
DEMO_MODEL = Path(__file__).resolve().parents[2] / "models" / "demo_detector.pt"
#: what the user is told (the Detect dock, the ``detect`` command) when the shipped demo detector
#: found the boxes
DEMO_NOTE = (
    "demo model: trained on synthetic defects only, not your micrographs; its crack boxes are "
    "unreliable (docs/detect.md)"
)
#: the ``trained_on`` of the demo model's sidecar, which a copy of it keeps
_DEMO_TRAINED_ON = "synthetic defects"


@dataclass
class Detector:
    """A loaded detection model and what is known about its training images."""

    yolo: Any
    path: Path
    names: dict[int, str]
    pixel_size: float | None
    imgsz: int
    info: dict[str, Any] = field(default_factory=dict)
    #: the file as it was loaded (:func:`file_identity`): a file replaced since is another model
    file_id: str = ""
    _fused: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def torch_model(self) -> Any:
        """The underlying ``torch.nn.Module`` (unfused, in eval mode)."""
        return self.yolo.model

    @property
    def stride(self) -> int:
        return int(max(getattr(self.yolo.model, "stride", [32])))

    @property
    def end2end(self) -> bool:
        return bool(getattr(self.yolo.model, "end2end", False))

    def inference_model(self) -> Any:
        """Fused copy of the network for prediction (Conv+BN folded, as ``YOLO.predict`` does)."""
        with self._lock:
            if self._fused is None:
                import torch

                model = copy.deepcopy(self.yolo.model).float().eval()
                if hasattr(model, "fuse"):
                    model = model.fuse(verbose=False)
                for p in model.parameters():
                    p.requires_grad_(False)
                if _channels_last_helps():
                    model = model.to(memory_format=torch.channels_last)
                self._fused = model
            return self._fused


def _channels_last_helps() -> bool:
    """oneDNN convolutions on x86 CPUs are faster on channels-last tensors (ultralytics agrees)."""
    import platform

    import torch

    return (
        platform.machine() in {"x86_64", "AMD64"}
        and torch.backends.mkldnn.is_available()
        and torch.backends.mkldnn.enabled
    )


def model_note(det: Any) -> str:
    """:data:`DEMO_NOTE` for the shipped demo detector (or a copy, known by its sidecar's
    ``trained_on``), else ""."""
    path, info = getattr(det, "path", None), getattr(det, "info", None) or {}
    demo = path is not None and Path(path).resolve() == DEMO_MODEL.resolve()
    return DEMO_NOTE if demo or info.get("trained_on") == _DEMO_TRAINED_ON else ""


def sidecar_path(pt_path: str | Path) -> Path:
    """The ``<name>.json`` next to a ``<name>.pt``."""
    return Path(pt_path).with_suffix(".json")


def read_model_info(pt_path: str | Path, ckpt: dict | None = None) -> dict[str, Any]:
    """Model info from the checkpoint (if given) overlaid by the sidecar JSON (if present)."""
    info: dict[str, Any] = {}
    if ckpt is not None and isinstance(ckpt.get(MODEL_INFO_KEY), dict):
        info.update(ckpt[MODEL_INFO_KEY])
    side = sidecar_path(pt_path)
    if side.is_file():
        try:
            data = json.loads(side.read_text())
        except (OSError, ValueError) as exc:
            msg = f"{side.name}: the model's sidecar file is not valid JSON ({exc})"
            raise ValueError(msg) from exc
        if not isinstance(data, dict):
            raise ValueError(f"{side.name}: the model's sidecar file must hold a JSON object")
        info.update(data)
    return info


def write_model_info(pt_path: str | Path, info: dict[str, Any]) -> Path:
    """Write the sidecar JSON (pixel_size_um, classes, imgsz, metrics, ...) next to a model."""
    side = sidecar_path(pt_path)
    side.write_text(json.dumps(info, indent=2) + "\n")
    return side


def _load_checkpoint(path: Path) -> dict:
    """``torch.load`` with every failure turned into a message the user understands."""
    import torch

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except ModuleNotFoundError as exc:
        raise ValueError(
            f"{path.name}: this checkpoint needs the Python module '{exc.name}', which is not "
            "installed; it was probably made by another program (e.g. YOLOv5). "
            "Use an ultralytics (YOLOv8 or later) detection model."
        ) from exc
    except (
        pickle.UnpicklingError,
        EOFError,
        RuntimeError,
        zipfile.BadZipFile,
        OSError,
        AttributeError,
        ImportError,
        TypeError,
        ValueError,
    ) as exc:
        raise ValueError(
            f"{path.name}: not a readable PyTorch checkpoint (the file is corrupt, truncated or "
            f"another kind of file): {type(exc).__name__}"
        ) from exc
    if not isinstance(ckpt, dict) or not any(
        isinstance(ckpt.get(k), torch.nn.Module) for k in ("ema", "model")
    ):
        raise ValueError(
            f"{path.name}: a PyTorch file, but not an ultralytics model checkpoint "
            "(no 'model' network inside)"
        )
    return ckpt


def _task_of(ckpt: dict) -> str:
    from ultralytics.nn.tasks import guess_model_task

    model = ckpt.get("ema") or ckpt.get("model")
    task = getattr(model, "task", None)
    if not task:
        try:
            task = guess_model_task(model)
        except (SyntaxError, TypeError, ValueError):
            task = "unknown"
    return str(task)


def _check_yolo_head(name: str, ckpt: dict) -> None:
    """Refuse a network that does not end in ultralytics' YOLO ``Detect`` head (RT-DETR, a
    torchvision model in a ``{"model": ...}`` dict): its output is not what detection decodes."""
    import torch
    from ultralytics.nn.modules.head import Detect

    layers = getattr(ckpt.get("ema") or ckpt.get("model"), "model", None)
    head = layers[-1] if isinstance(layers, torch.nn.Sequential) and len(layers) else None
    if not isinstance(head, Detect):
        found = type(head).__name__ if head is not None else "no ultralytics layer list"
        raise ValueError(
            f"{name}: not a YOLO detection model (its network ends in {found}, not a YOLO "
            "Detect head); use a YOLOv8 or later detection model (RT-DETR is not supported)"
        )


def _pixel_size_of(name: str, info: dict[str, Any]) -> float | None:
    """The model's recorded pixel size (µm), checked: a positive finite number or none."""
    ps = info.get("pixel_size_um")
    if ps is None or ps == "":
        return None
    try:
        value = float(ps)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(
            f"{name}: the model's recorded pixel size (pixel_size_um in the checkpoint or in "
            f"{sidecar_path(name).name}) must be a positive number of µm, got {ps!r}"
        )
    return value


#: the model input sizes (pixels, square) a recorded ``imgsz`` may give
IMGSZ_MAX = 8192


def _whole(value: Any) -> int | None:
    """``value`` as a whole number (an int, an integral float or an integer string), else
    None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _imgsz_of(name: str, imgsz: Any, stride: int) -> int:
    """The model's input size, checked: a whole number of pixels (the largest of a list)
    between the model's stride and :data:`IMGSZ_MAX`, rounded up to a multiple of the stride as
    ultralytics does when it trains (``--imgsz 100`` trains at 128)."""
    values = imgsz if isinstance(imgsz, list | tuple) else [imgsz]
    sizes = [s for s in map(_whole, values) if s is not None]
    size = max(sizes) if values and len(sizes) == len(values) else None
    if size is None or not stride <= size <= IMGSZ_MAX:
        raise ValueError(
            f"{name}: the model's input size (imgsz in the checkpoint or in "
            f"{sidecar_path(name).name}) must be a whole number of pixels between {stride} "
            f"and {IMGSZ_MAX}, got {imgsz!r}"
        )
    return -(-size // stride) * stride


def file_identity(path: str | Path | None) -> str:
    """The file at ``path`` as it is now (resolved path, size, modification time); a file
    written again gives another identity. Empty when there is no such file."""
    if path is None or str(path).strip() == "":
        return ""
    p = Path(path).expanduser()
    try:
        st = p.stat()
    except OSError:
        return ""
    return f"{p.resolve()}:{st.st_size}:{st.st_mtime_ns}" if p.is_file() else ""


def load_detector(path: str | Path | None = None) -> Detector:
    """Load an ultralytics detection model from a local ``.pt``; None loads the demo model.

    Never downloads anything. A missing, unreadable or non-detection (segmentation,
    classification, pose, ...) file raises ``ValueError`` with a message for the user.
    """
    import_ultralytics()
    from ultralytics import YOLO

    p = Path(path).expanduser() if path is not None else DEMO_MODEL
    if path is not None and str(path).strip() == "":
        raise ValueError("no model file given")
    if not p.is_file():
        what = "the shipped demo model" if path is None else "model file"
        raise ValueError(f"{what} not found: {p}")
    if p.suffix.lower() != ".pt":
        raise ValueError(f"{p.name}: expected an ultralytics PyTorch model file ending in .pt")
    file_id = file_identity(p)  # before reading: a file written meanwhile is not taken for it
    ckpt = _load_checkpoint(p)
    task = _task_of(ckpt)
    if task != "detect":
        raise ValueError(
            f"{p.name}: this is a '{task}' model; detection needs an ultralytics detection "
            "model (boxes), e.g. one trained with task=detect"
        )
    _check_yolo_head(p.name, ckpt)
    info = read_model_info(p, ckpt)
    pixel_size = _pixel_size_of(p.name, info)
    del ckpt
    try:
        yolo = YOLO(str(p), task="detect")
    except Exception as exc:  # noqa: BLE001 - any loader failure is a bad model file for the user
        raise ValueError(f"{p.name}: ultralytics could not load this model: {exc}") from exc
    yolo.model.eval()
    names = {int(k): str(v) for k, v in dict(yolo.names).items()}
    trained = info.get("imgsz")
    if trained is None or trained == "":
        trained = (yolo.overrides or {}).get("imgsz") or 640
    stride = int(max(getattr(yolo.model, "stride", [32])))  # as Detector.stride
    return Detector(
        yolo=yolo,
        path=p,
        names=names,
        pixel_size=pixel_size,
        imgsz=_imgsz_of(p.name, trained, stride),
        info=info,
        file_id=file_id,
    )
