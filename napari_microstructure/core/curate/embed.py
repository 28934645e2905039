"""Image embeddings from a detector's backbone, for an out-of-distribution signal.

The feature map of the deepest backbone block (SPPF in YOLOv8/11) is averaged over space and
L2-normalised; an image's OOD distance is the cosine distance to its nearest reference image.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..image_utils import to_rgb_uint8


def _embedding_module(model: Any) -> Any:
    layers = list(getattr(model, "model", []))
    for layer in layers:
        if type(layer).__name__ == "SPPF":
            return layer
    if not layers:
        raise ValueError("the detector's network has no layer list to take embeddings from")
    return layers[len(layers) // 2]


class Embedder:
    """Backbone embeddings of a :class:`~napari_microstructure.core.detect.Detector`."""

    def __init__(self, detector: Any, size: int | None = None) -> None:
        self._model = detector.inference_model()
        self._size = int(size or detector.imgsz)
        self._layer = _embedding_module(self._model)
        self._ref = np.zeros((0, 1), dtype=np.float32)

    def embed(self, image: np.ndarray) -> np.ndarray:
        """Unit-length embedding vector of one image."""
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
        vec = grabbed[0].mean(dim=(2, 3))[0].numpy().astype(np.float32)
        return vec / max(float(np.linalg.norm(vec)), 1e-12)

    def set_reference(self, images: Sequence[np.ndarray]) -> None:
        """Embed the reference images (e.g. those already labelled)."""
        self._ref = np.stack([self.embed(im) for im in images])

    def distance(self, image: np.ndarray) -> float:
        """Cosine distance (0..2) of ``image`` to the nearest reference image."""
        if self._ref.shape[0] == 0:
            raise ValueError("set reference images first")
        sims = self._ref @ self.embed(image)
        return float(1.0 - sims.max())
