"""Kinds of synthetic micrograph: a registry of generator functions and the ``generate`` entry.

A kind is a function ``fn(rng, shape, pixel_size, **params) -> SyntheticMicrograph`` registered
with :func:`register_kind`; :func:`generate` seeds it, checks the arguments and fills the truth.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from .micrograph import SyntheticMicrograph
from .truth import compute_truth

KindFn = Callable[..., SyntheticMicrograph]

#: Registered kinds, name -> generator function.
KINDS: dict[str, KindFn] = {}

MIN_SIDE = 32
MAX_PIXELS = 8192 * 8192


def register_kind(name: str) -> Callable[[KindFn], KindFn]:
    """Decorator adding a generator function to :data:`KINDS` under ``name``."""

    def deco(fn: KindFn) -> KindFn:
        KINDS[name] = fn
        return fn

    return deco


def kind_parameters(kind: str) -> dict[str, Any]:
    """Keyword parameters a kind accepts, with their defaults."""
    fn = _lookup(kind)
    skip = {"rng", "shape", "pixel_size"}
    return {
        p.name: p.default
        for p in inspect.signature(fn).parameters.values()
        if p.name not in skip and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    }


def _lookup(kind: str) -> KindFn:
    if kind not in KINDS:
        raise ValueError(f"unknown synthetic kind {kind!r}; choose one of {sorted(KINDS)}")
    return KINDS[kind]


def generate(
    kind: str,
    shape: tuple[int, int] = (512, 512),
    pixel_size: float = 0.5,
    seed: int | None = 0,
    **params: Any,
) -> SyntheticMicrograph:
    """Draw a synthetic micrograph of ``kind`` with exact ground truth.

    Parameters
    ----------
    kind : one of :data:`KINDS` (e.g. "etched", "tint", "bimodal", "ferrite_pearlite",
        "precipitates", "defects").
    shape : (rows, cols) in pixels.
    pixel_size : µm per pixel; sizes of grains and objects are drawn in µm.
    seed : the same seed gives the same image and truth.
    **params : kind parameters (see :func:`kind_parameters`), e.g. ``grain_size_um``,
        artefact switches ``illumination``, ``noise``, ``blur``, ``dust``, ``scale_bar``
        (True/False, None = drawn at random per seed).
    """
    fn = _lookup(kind)
    try:
        h, w = (int(v) for v in shape)
    except (TypeError, ValueError):
        raise ValueError(f"shape must be (rows, cols), got {shape!r}") from None
    if h < MIN_SIDE or w < MIN_SIDE or h * w > MAX_PIXELS:
        raise ValueError(
            f"shape must be at least {MIN_SIDE} px a side and at most "
            f"{MAX_PIXELS} pixels, got {shape!r}"
        )
    ps = float(pixel_size)
    if not np.isfinite(ps) or ps <= 0:
        raise ValueError(f"pixel_size must be a positive number of µm per pixel, got {pixel_size}")
    allowed = kind_parameters(kind)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"kind {kind!r} has no parameter(s) {unknown}; it takes {sorted(allowed)}"
        )
    rng = np.random.default_rng(seed)
    result = fn(rng=rng, shape=(h, w), pixel_size=ps, **params)
    result.kind = kind
    result.pixel_size = ps
    result.truth = compute_truth(result, seed, params)
    return result
