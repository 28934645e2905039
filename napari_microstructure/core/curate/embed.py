"""Image embeddings from a detector's backbone, for an out-of-distribution signal.

The feature map of the deepest stride-8 backbone block is pooled over space (mean and
standard deviation per channel: content and texture); an image's OOD distance is the Euclidean
distance to its nearest reference image, relative to the references' typical norm.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..image_utils import to_rgb_uint8


def _embedding_module(model: Any, size: int = 128) -> Any:
    """The deepest backbone block at stride 8 (in YOLOv8, the P3 C2f).

    Deeper blocks (SPPF) of weakly trained detectors carry almost no image signal (measured:
    their pooled features differed by 1e-7 between a blank and a textured image).
    """
    import torch

    layers = list(getattr(model, "model", []))
    if not layers:
        raise ValueError("the detector's network has no layer list to take embeddings from")
    shapes: dict[int, int] = {}
    hooks = [
        layer.register_forward_hook(
            lambda m, i, o, k=k: shapes.__setitem__(k, o.shape[-1]) if torch.is_tensor(o) else None
        )
        for k, layer in enumerate(layers)
    ]
    try:
        with torch.inference_mode():
            model(torch.zeros(1, 3, size, size))
    finally:
        for h in hooks:
            h.remove()
    first_up = next((k for k, la in enumerate(layers) if "Upsample" in type(la).__name__), None)
    backbone = [k for k in shapes if first_up is None or k < first_up]
    at8 = [k for k in backbone if shapes[k] == size // 8]
    return layers[at8[-1] if at8 else len(layers) // 2]


class Embedder:
    """Backbone embeddings of a :class:`~napari_microstructure.core.detect.Detector`."""

    def __init__(self, detector: Any, size: int | None = None) -> None:
        self._model = detector.inference_model()
        self._size = int(size or detector.imgsz)
        self._layer = _embedding_module(self._model)
        self._ref = np.zeros((0, 1), dtype=np.float64)
        self._norm = 1.0

    def embed(self, image: np.ndarray) -> np.ndarray:
        """Embedding vector (per-channel mean and std of the feature map) of one image."""
        import cv2
        import torch

        rgb = cv2.resize(to_rgb_uint8(np.asarray(image)), (self._size, self._size))
        grabbed: list[Any] = []
        handle = self._layer.register_forward_hook(lambda m, i, o: grabbed.append(o))
        try:
            with torch.inference_mode():
                x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float().div_(255.0)
                self._model(x)
        finally:
            handle.remove()
        fmap = grabbed[0][0].float()
        vec = torch.cat([fmap.mean(dim=(1, 2)), fmap.std(dim=(1, 2))])
        return vec.numpy().astype(np.float64)

    def set_reference(self, images: Sequence[np.ndarray]) -> None:
        """Embed the reference images (e.g. those already labelled)."""
        self._ref = np.stack([self.embed(im) for im in images])
        self._norm = max(float(np.linalg.norm(self._ref, axis=1).mean()), 1e-12)

    @property
    def reference(self) -> np.ndarray:
        """(M, D) embeddings of the reference images (M = 0 before :meth:`set_reference`)."""
        return self._ref if self._ref.shape[0] else np.zeros((0, 0))

    def distance(self, image: np.ndarray | None = None, vector: np.ndarray | None = None) -> float:
        """Distance of ``image`` (or of its embedding ``vector``) to the nearest reference
        image (0 = like a reference)."""
        if self._ref.shape[0] == 0:
            raise ValueError("set reference images first")
        vec = self.embed(image) if vector is None else np.asarray(vector, dtype=np.float64)
        d = np.linalg.norm(self._ref - vec[None], axis=1)
        return float(d.min() / self._norm)
