"""Synthetic annotated images under other imaging conditions, to check the annotation queue.

A lab's unlabelled folder mixes images like the labelled ones with images unlike them (another
contrast mode, a faint etch, defects the labelled set lacks). :func:`domain_item` draws such an
image with its exact boxes: ``base`` (bright-field "defects" micrograph, no cracks), ``dark``
(inverted contrast, as in dark-field), ``faint`` (a third of the contrast, strong noise) or
``cracks`` (bright-field with at least one crack).

The generator's cracks are 45 to 140 µm long and it drops an object that does not fit the field,
so on a 128 px field at 0.5 µm/px four requested cracks in five were dropped (measured over 300
fields: 78 % had none). A ``cracks`` field is therefore redrawn, from derived seeds, until it
holds at least one crack.
"""

from __future__ import annotations

import numpy as np

from ..synthetic import DEFECT_CLASSES, generate
from .items import ExportItem

DOMAINS = ("base", "dark", "faint", "cracks")
_PLAIN = {"background": "polished", "illumination": False, "blur": False, "dust": False}
_REDRAWS = 200  # a field keeps a crack with p ~ 0.2: 200 tries all fail with p ~ 1e-19


def domain_item(
    seed: int,
    domain: str = "base",
    size: int = 128,
    pixel_size: float = 0.5,
    classes: list[str] | None = None,
) -> ExportItem:
    """One synthetic image of ``domain`` with its boxes; class ids index ``classes``.

    ``classes`` defaults to the generator's defect classes; objects of other classes are left out.
    """
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; choose one of {', '.join(DOMAINS)}")
    classes = list(DEFECT_CLASSES) if classes is None else list(classes)
    rng = np.random.default_rng(seed + 7_000_000)
    counts = {
        "n_inclusions": int(rng.integers(1, 4)),
        "n_pores": int(rng.integers(1, 3)),
        "n_precipitates": int(rng.integers(2, 5)),
        "n_cracks": int(rng.integers(2, 4)) if domain == "cracks" else 0,
        "n_scratches": 0,
    }
    for attempt in range(_REDRAWS if domain == "cracks" else 1):
        m = generate(
            "defects",
            shape=(size, size),
            pixel_size=pixel_size,
            seed=seed + attempt * 10_000_019,
            scale_bar=False,
            **_PLAIN,
            **counts,
        )
        if domain != "cracks" or any(o["cls"] == "crack" for o in m.objects):
            break
    image = m.image.astype(np.float32)
    if domain == "dark":
        image = 255.0 - image
    elif domain == "faint":
        image = image.mean() + (image - image.mean()) / 3.0 + rng.normal(0, 8.0, image.shape)
    image = np.clip(np.round(image), 0, 255).astype(np.uint8)
    boxes = [
        dict(zip(("x1", "y1", "x2", "y2"), map(float, o["bbox"]), strict=True))
        | {"class_id": classes.index(o["cls"])}
        for o in m.objects
        if o["cls"] in classes
    ]
    return ExportItem(name=f"{domain}{seed}", image=image, boxes=boxes, pixel_size=pixel_size)
