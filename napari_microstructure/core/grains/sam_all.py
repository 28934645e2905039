"""Every grain with Segment Anything's automatic mask generator, with progress and a way out.

``SamAutomaticMaskGenerator.generate`` is one long call: the image embedding, then the point
grid decoded batch by batch. It runs here in a helper thread while the generator reports how
many point batches are done; when the caller stops (a cancelled worker closes the generator),
the next batch raises and the helper thread ends within one batch.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Generator
from pathlib import Path
from typing import Any

import numpy as np

from ..progress import Progress, rescaled


class _Stopped(Exception):
    """Raised inside the mask generator's next point batch once the caller has stopped."""


def _batches(gen: Any) -> int:
    """Point batches ``gen.generate`` decodes: every crop layer's crops times its grid."""
    grids = getattr(gen, "point_grids", None) or []
    per = max(int(getattr(gen, "points_per_batch", 64)), 1)
    return sum(4**i * math.ceil(len(g) / per) for i, g in enumerate(grids)) or 1


def automatic_masks(
    gen: Any, rgb: np.ndarray, poll: float = 0.2
) -> Generator[Progress, None, list[dict]]:
    """``gen.generate(rgb)`` in a helper thread, yielding Progress over its point batches
    (step 0 while the image is embedded); closing this generator stops the helper thread at
    its next point batch."""
    state = {"done": 0, "stop": False}
    decode = getattr(gen, "_process_batch", None)
    if decode is not None:  # counted (and stoppable) batch by batch

        def counted(*args: Any, **kwargs: Any) -> Any:
            if state["stop"]:
                raise _Stopped
            out = decode(*args, **kwargs)
            state["done"] += 1
            return out

        gen._process_batch = counted
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            result["masks"] = gen.generate(rgb)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            result["error"] = exc

    total = _batches(gen)
    thread = threading.Thread(target=work, name="sam-automatic-masks", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(poll)
            done = min(state["done"], total)
            what = "embedding the image" if done == 0 else f"point batch {done} of {total}"
            yield Progress(done, total, what)
    finally:
        state["stop"] = True  # a closed generator (Cancel) ends the thread at its next batch
        thread.join()
    if "error" in result:
        raise result["error"]
    return result["masks"]


def sam_grains(
    image: np.ndarray,
    checkpoint: str | Path,
    model_type: str = "auto",
    points_per_side: int = 32,
    **kw: Any,
) -> Generator[Progress, None, np.ndarray]:
    """Grain labels from SAM's automatic masks (:func:`.segment_all.labels_from_masks`)."""
    from segment_anything import SamAutomaticMaskGenerator

    from ..image_utils import to_rgb_uint8
    from ..refine.sam_model import load_sam
    from .segment_all import labels_from_masks

    yield Progress(0, 100, "loading Segment Anything")
    sam, _ = load_sam(checkpoint, model_type)
    gen = SamAutomaticMaskGenerator(sam, points_per_side=points_per_side, **kw)
    rgb = to_rgb_uint8(np.asarray(image))
    found = yield from rescaled(automatic_masks(gen, rgb), 5, 95, 100)
    yield Progress(95, 100, f"assembling {len(found)} masks")
    labels = labels_from_masks(
        [m["segmentation"] for m in found],
        [float(m["predicted_iou"]) for m in found],
        rgb.shape[:2],
    )
    yield Progress(100, 100, f"{int(labels.max())} grains")
    return labels
