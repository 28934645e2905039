"""A tiny Segment Anything model built from the package's own blocks, saved as a checkpoint."""

from __future__ import annotations

from pathlib import Path

import torch

from napari_microstructure.core.refine.sam_model import build_sam_from_config

TINY_CONFIG = {
    "encoder_embed_dim": 32,
    "encoder_depth": 2,
    "encoder_num_heads": 2,
    "encoder_global_attn_indexes": [1],
    "image_size": 256,
    "patch_size": 16,
    "window_size": 4,
    "decoder_mlp_dim": 64,
}


def tiny_sam(seed: int = 0):
    torch.manual_seed(seed)
    return build_sam_from_config(**TINY_CONFIG)


def save_tiny_checkpoint(path: Path, seed: int = 0) -> Path:
    torch.save({"sam_config": TINY_CONFIG, "model": tiny_sam(seed).state_dict()}, path)
    return path
