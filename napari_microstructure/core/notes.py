"""Notes and warnings shown to the user in one line."""

from __future__ import annotations


def join_notes(*parts: str | None) -> str:
    """The non-empty ``parts`` joined by "; " ("" when none has text)."""
    return "; ".join(p for p in parts if p)


def unscaled_note(model_pixel_size: float, remedy: str) -> str:
    """The note for an image without a pixel size given to a model trained at a known one:
    the image is used at its own scale; ``remedy`` says how to make the run scale-aware."""
    return (
        f"the image has no pixel size: used as is (the model was trained at "
        f"{float(model_pixel_size):g} µm/px); {remedy}"
    )
