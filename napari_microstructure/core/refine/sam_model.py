"""Loading a Segment Anything model from a checkpoint the user points to.

Official checkpoints are plain state dicts of ``vit_b``, ``vit_l`` or ``vit_h``; the type is
recognised from the image encoder's width and depth, so a wrong choice gets a clear message.
A checkpoint may also be a dict ``{"sam_config": {...}, "model": state_dict}`` describing a
smaller encoder (fine-tuned or distilled models, and the tiny models of the tests); see
:func:`build_sam_from_config`.
"""

from __future__ import annotations

import hashlib
from functools import partial
from pathlib import Path
from typing import Any

import torch

#: encoder (embed_dim, depth) of the official model types
MODEL_TYPES: dict[str, tuple[int, int]] = {
    "vit_b": (768, 12),
    "vit_l": (1024, 24),
    "vit_h": (1280, 32),
}


class SamLoadError(ValueError):
    """The checkpoint cannot be used (missing, corrupt, other model type)."""


def build_sam_from_config(
    encoder_embed_dim: int,
    encoder_depth: int,
    encoder_num_heads: int,
    encoder_global_attn_indexes: list[int],
    image_size: int = 1024,
    patch_size: int = 16,
    window_size: int = 14,
    prompt_embed_dim: int = 256,
    decoder_mlp_dim: int = 2048,
) -> Any:
    """A ``segment_anything.modeling.Sam`` of the given size, built from the package's blocks."""
    from segment_anything.modeling import (
        ImageEncoderViT,
        MaskDecoder,
        PromptEncoder,
        Sam,
        TwoWayTransformer,
    )

    grid = image_size // patch_size
    sam = Sam(
        image_encoder=ImageEncoderViT(
            depth=encoder_depth,
            embed_dim=encoder_embed_dim,
            img_size=image_size,
            mlp_ratio=4,
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            num_heads=encoder_num_heads,
            patch_size=patch_size,
            qkv_bias=True,
            use_rel_pos=True,
            global_attn_indexes=list(encoder_global_attn_indexes),
            window_size=window_size,
            out_chans=prompt_embed_dim,
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=prompt_embed_dim,
            image_embedding_size=(grid, grid),
            input_image_size=(image_size, image_size),
            mask_in_chans=16,
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(
                depth=2, embedding_dim=prompt_embed_dim, mlp_dim=decoder_mlp_dim, num_heads=8
            ),
            transformer_dim=prompt_embed_dim,
            iou_head_depth=3,
            iou_head_hidden_dim=256,
        ),
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    )
    return sam.eval()


def checkpoint_fingerprint(path: str | Path) -> str:
    """Short hash of a checkpoint's size, mtime and first/last MiB (cheap for 2.5 GB files)."""
    p = Path(path)
    st = p.stat()
    h = hashlib.sha256(f"{st.st_size}:{st.st_mtime_ns}".encode())
    with p.open("rb") as fh:
        h.update(fh.read(1 << 20))
        if st.st_size > 2 << 20:
            fh.seek(-(1 << 20), 2)
            h.update(fh.read(1 << 20))
    return h.hexdigest()[:20]


def _read_checkpoint(p: Path) -> dict[str, Any]:
    if not p.is_file():
        raise SamLoadError(f"Segment Anything checkpoint not found: {p}")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for a bad file
        raise SamLoadError(
            f"{p.name} is not a readable PyTorch checkpoint (corrupt or not a model file): "
            f"{type(exc).__name__}"
        ) from None
    if not isinstance(obj, dict):
        raise SamLoadError(f"{p.name} does not hold a state dict (found {type(obj).__name__})")
    return obj


def _encoder_shape(state: dict[str, Any]) -> tuple[int, int] | None:
    """The image encoder's (embed_dim, depth), or None if the state has no SAM encoder."""
    w = state.get("image_encoder.patch_embed.proj.weight")
    if w is None:
        return None
    depth = len({k.split(".")[2] for k in state if k.startswith("image_encoder.blocks.")})
    return int(w.shape[0]), depth


def detect_model_type(state: dict[str, Any]) -> str | None:
    """``vit_b`` / ``vit_l`` / ``vit_h`` from the encoder's shape, or None for other shapes."""
    shape = _encoder_shape(state)
    return next((name for name, s in MODEL_TYPES.items() if s == shape), None)


def _check_config_type(name: str, state: Any, model_type: str) -> None:
    """Refuse a ``{"sam_config", "model"}`` checkpoint whose encoder is not the type asked for."""
    if model_type == "auto":
        return
    shape = _encoder_shape(state) if isinstance(state, dict) else None
    found = detect_model_type(state) if shape else None
    if found == model_type:
        return
    what = f"a {found}-sized" if found else "a custom"
    size = f" (encoder width {shape[0]}, depth {shape[1]})" if shape and not found else ""
    raise SamLoadError(
        f"{name} holds {what} model{size}, not {model_type}; "
        f"choose {found + ' or ' if found else ''}auto as the model type"
    )


def load_sam(checkpoint: str | Path, model_type: str = "auto") -> tuple[Any, str]:
    """Load a SAM model on the CPU in eval mode.

    Parameters
    ----------
    checkpoint
        Path to a ``.pth`` file (official state dict or ``{"sam_config", "model"}`` dict).
    model_type
        ``"auto"``, ``"vit_b"``, ``"vit_l"`` or ``"vit_h"``.

    Returns
    -------
    The model and its type name (``"custom"`` for a config checkpoint).

    Raises
    ------
    SamLoadError
        Missing or corrupt file, a state dict that is not SAM, or another type than asked for
        (also for a config checkpoint, whose encoder must then have that type's size).
    """
    if model_type not in ("auto", *MODEL_TYPES):
        raise SamLoadError(f"unknown model type {model_type!r}; use auto, vit_b, vit_l or vit_h")
    p = Path(checkpoint).expanduser()
    obj = _read_checkpoint(p)
    if "sam_config" in obj and "model" in obj:
        _check_config_type(p.name, obj["model"], model_type)
        try:
            sam = build_sam_from_config(**obj["sam_config"])
        except TypeError as exc:
            raise SamLoadError(f"{p.name}: bad sam_config ({exc})") from None
        state, found = obj["model"], "custom"
    else:
        state = obj
        found = detect_model_type(state)
        if found is None:
            raise SamLoadError(
                f"{p.name} is not a Segment Anything checkpoint "
                "(no vit_b/vit_l/vit_h image encoder)"
            )
        if model_type != "auto" and model_type != found:
            raise SamLoadError(
                f"{p.name} holds a {found} model, not {model_type}; choose {found} (or auto)"
            )
        from segment_anything import sam_model_registry

        sam = sam_model_registry[found](checkpoint=None)
    try:
        sam.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0:2]
        raise SamLoadError(f"{p.name} does not match a {found} model: {' '.join(first)}") from None
    return sam.eval(), found
