"""The detection network as grad-cam needs it: one tensor out, known target layers.

ultralytics' ``DetectionModel`` returns a tuple in eval mode; grad-cam wants a module that
returns the tensor being explained. :class:`HeadOutput` wraps the underlying torch module (never
the ``YOLO`` object, whose ``__call__`` can start training) and returns the decoded head output
``(B, 4 + nc, N)``: box centre/size in input pixels, then per-class scores in [0, 1].
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..image_utils import to_rgb_uint8


class HeadOutput(nn.Module):
    """Wrap a YOLO detection module so ``forward`` returns only the decoded predictions."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        while isinstance(out, list | tuple):
            out = out[0]
        if isinstance(out, dict):  # end-to-end heads return dicts
            out = next(v for v in out.values() if isinstance(v, torch.Tensor))
        return out


@dataclass
class ExplainModel:
    """A detection network ready for saliency: wrapper, target layers and input geometry.

    Attributes
    ----------
    net : the :class:`HeadOutput` wrapper (eval mode, float32, CPU).
    fast : optional (wrapper, layers) of a Conv+BN-fused copy, for gradient-free passes.
    layers : the feature maps fed to the detection head (one per stride, fine to coarse).
    strides : stride of each of ``layers`` in input pixels.
    names : class names by id.
    imgsz : model input size (pixels, square).
    pixel_size : µm/px of the training images, or None.
    key : identity of the weights, used in cache keys.
    """

    net: HeadOutput
    layers: list[nn.Module]
    strides: list[int]
    names: dict[int, str]
    imgsz: int
    pixel_size: float | None
    key: str
    fast: tuple[HeadOutput, list[nn.Module]] | None = None

    def forward_only(self) -> tuple[HeadOutput, list[nn.Module]]:
        """Network and target layers for passes without gradients (fused when available)."""
        return self.fast if self.fast is not None else (self.net, self.layers)

    @property
    def nc(self) -> int:
        return len(self.names)


def _weights_key(
    module: nn.Module,
    path: Any = None,
    pixel_size: float | None = None,
    file_id: str = "",
) -> str:
    """The weights (the file as it was loaded, or a sample of them) and the pixel size the model
    works at: fixing a model's recorded pixel size must not return the maps made at the old
    one, nor a file written again since the model was loaded its maps under the new file's
    name."""
    digest = hashlib.sha1(f"pixel size {pixel_size}".encode())
    if not file_id and path is not None and Path(str(path)).is_file():
        p = Path(str(path))
        file_id = f"{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
    if file_id:
        digest.update(file_id.encode())
    else:  # in-memory model: hash a sample of its weights
        for t in list(module.state_dict().values())[:: max(1, len(module.state_dict()) // 16)]:
            digest.update(t.detach().cpu().float().numpy().tobytes()[:4096])
    return digest.hexdigest()[:16]


def explain_model(detector: Any) -> ExplainModel:
    """Build an :class:`ExplainModel` from a ``core.detect`` Detector or a bare torch module.

    Accepts an object with ``.torch_model`` (and optionally ``.names``, ``.imgsz``,
    ``.pixel_size``, ``.path``) or an ultralytics ``DetectionModel`` itself.
    """
    torch_model = getattr(detector, "torch_model", detector)
    if not isinstance(torch_model, nn.Module) or not hasattr(torch_model, "model"):
        raise ValueError("not an ultralytics detection model (expected a Detector or its .model)")
    head = torch_model.model[-1]
    if not hasattr(head, "stride") or not hasattr(head, "f"):
        raise ValueError("the model has no detection head to explain")
    torch_model = torch_model.float().cpu().eval()
    for p in torch_model.parameters():
        p.requires_grad_(True)
    layers = [torch_model.model[i] for i in head.f]
    strides = [int(s) for s in head.stride.tolist()]
    names = getattr(detector, "names", None) or getattr(torch_model, "names", {})
    if isinstance(names, list | tuple):
        names = dict(enumerate(names))
    imgsz = getattr(detector, "imgsz", None) or 640
    if isinstance(imgsz, list | tuple):
        imgsz = max(imgsz)
    return ExplainModel(
        net=HeadOutput(torch_model).eval(),
        layers=layers,
        strides=strides,
        names={int(k): str(v) for k, v in names.items()},
        imgsz=int(imgsz),
        pixel_size=getattr(detector, "pixel_size", None),
        key=_weights_key(
            torch_model,
            getattr(detector, "path", None),
            getattr(detector, "pixel_size", None),
            getattr(detector, "file_id", ""),
        ),
        fast=_fused(detector),
    )


def _fused(detector: Any) -> tuple[HeadOutput, list[nn.Module]] | None:
    """The Detector's fused inference copy (as detection runs it), when it has one."""
    make = getattr(detector, "inference_model", None)
    if make is None:
        return None
    fused = make()
    head = fused.model[-1]
    return HeadOutput(fused).eval(), [fused.model[i] for i in head.f]


def to_input(tile: np.ndarray) -> torch.Tensor:
    """``(1, 3, H, W)`` float tensor in [0, 1] from a grey or RGB tile, as ultralytics feeds it."""
    rgb = to_rgb_uint8(tile)
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).float()[None] / 255.0


def to_fast_input(tile: np.ndarray) -> torch.Tensor:
    """:func:`to_input` in channels-last memory, the layout detection's fused network runs in."""
    return to_input(tile).contiguous(memory_format=torch.channels_last)


def xywh_to_xyxy(b: torch.Tensor) -> torch.Tensor:
    """Centre/size boxes ``(..., 4)`` to corner boxes."""
    xy, wh = b[..., :2], b[..., 2:4] / 2
    return torch.cat([xy - wh, xy + wh], dim=-1)


def box_iou(boxes: torch.Tensor, box: torch.Tensor) -> torch.Tensor:
    """IoU of ``(N, 4)`` xyxy boxes with one xyxy box."""
    lt = torch.maximum(boxes[:, :2], box[:2])
    rb = torch.minimum(boxes[:, 2:], box[2:])
    inter = (rb - lt).clamp(min=0).prod(dim=1)
    area = (boxes[:, 2:] - boxes[:, :2]).clamp(min=0).prod(dim=1)
    area0 = (box[2:] - box[:2]).clamp(min=0).prod()
    return inter / (area + area0 - inter + 1e-9)
