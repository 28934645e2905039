"""Kinds of synthetic micrograph: a registry of generator functions and the ``generate`` entry.

A kind is a function ``fn(rng, shape, pixel_size, **params) -> SyntheticMicrograph`` registered
with :func:`register_kind`; :func:`generate` seeds it, checks the arguments and fills the truth.
Every parameter is checked here, against :data:`PARAMETERS`, before any kind draws a pixel.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .artefacts import MIN_SCALE_BAR_SIDE
from .micrograph import SyntheticMicrograph
from .truth import compute_truth

KindFn = Callable[..., SyntheticMicrograph]

#: Registered kinds, name -> generator function.
KINDS: dict[str, KindFn] = {}

MIN_SIDE = 32
MAX_PIXELS = 8192 * 8192
#: Grains, sheaves and particles must be at least this many pixels across.
MIN_GRAIN_PX = 4.0
#: µm per pixel (the default pixel size) at which the base kinds' default size ranges were
#: matched to real images; at it a size drawn in µm is the same number of pixels as ever.
REFERENCE_PIXEL_SIZE = 0.5


@dataclass(frozen=True)
class Param:
    """Allowed values of a kind parameter.

    ``type`` is "number", "count" (whole number), "length" (µm: above ``min_px`` pixels and at
    most the image's longer side at the pixel size), "switch" (True/False) or "choice".
    """

    type: str
    lo: float = -math.inf
    hi: float = math.inf
    lo_open: bool = False
    hi_open: bool = False
    min_px: float = 0.0
    choices: tuple[str, ...] = ()
    what: str = ""


def _fraction(lo: float = 0.0, hi: float = 1.0, **kw: Any) -> Param:
    return Param("number", lo, hi, **kw)


def _length(min_px: float = 0.0, what: str = "") -> Param:
    return Param("length", 0.0, lo_open=True, min_px=min_px, what=what)


_GRAIN = _length(MIN_GRAIN_PX, "grains")
_SWITCH = Param("switch")

#: Parameter name -> allowed values; names mean the same in every kind that takes them.
PARAMETERS: dict[str, Param] = {
    **{k: _SWITCH for k in ("illumination", "noise", "blur", "dust", "scale_bar")},
    "grain_size_um": _GRAIN,
    "prior_grain_um": _length(MIN_GRAIN_PX, "prior grains"),
    "sheaf_um": _length(MIN_GRAIN_PX, "sheaves"),
    "particle_size_um": _length(MIN_GRAIN_PX, "particles"),
    "lamella_spacing_um": _length(),
    "lath_length_um": _length(),
    "lath_width_um": _length(),
    "plate_spacing_um": _length(),
    "pore_size_um": _length(),
    "arm_spacing_um": _length(),
    "line_width": Param("number", 0.0, 20.0, lo_open=True, what="px"),
    "line_contrast": _fraction(),
    "gap_fraction": _fraction(),
    "twins": _fraction(),
    "pearlite_fraction": _fraction(),
    "area_fraction": _fraction(0.0, 0.9, lo_open=True, hi_open=True),
    "large_fraction": _fraction(lo_open=True, hi_open=True),
    "porosity": _fraction(0.02, 0.3),
    "size_spread": _fraction(),
    "waviness": _fraction(),
    "size_ratio": Param("number", 1.0, 10.0),
    "scratches": Param("count", 0, 100),
    "n_fine": Param("count", 0, 100_000),
    **{
        f"n_{c}": Param("count", 0, 10_000)
        for c in ("inclusions", "pores", "cracks", "precipitates", "scratches")
    },
    "look": Param("choice", choices=("etched", "tint")),
    "background": Param("choice", choices=("polished", "etched")),
}


def register_kind(
    name: str, parameters: dict[str, Param] | None = None
) -> Callable[[KindFn], KindFn]:
    """Decorator adding a generator function to :data:`KINDS` under ``name``.

    ``parameters`` adds rules for parameter names :data:`PARAMETERS` does not know yet.
    """

    def deco(fn: KindFn) -> KindFn:
        for key, rule in (parameters or {}).items():
            PARAMETERS.setdefault(key, rule)
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


def check_seed(seed: Any, name: str = "seed") -> int | None:
    """``seed`` as an int (None kept: a fresh random draw); ValueError naming ``name`` unless
    it is a whole number of at least 0 (True/False are not seeds)."""
    if seed is None:
        return None
    if isinstance(seed, bool | np.bool_) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"{name} must be a whole number of at least 0 (or None), got {seed!r}")
    return int(seed)


def check_arguments(
    kind: str, shape: Any, pixel_size: Any, params: dict[str, Any], seed: Any = None
) -> tuple[tuple[int, int], float]:
    """Check everything :func:`generate` takes; return (shape, pixel size) as (ints, float).

    Raises ValueError naming the argument, its value and what is allowed.
    """
    _lookup(kind)
    check_seed(seed)
    try:
        h, w = (int(v) for v in shape)
    except (TypeError, ValueError):
        raise ValueError(f"shape must be (rows, cols), got {shape!r}") from None
    if h < MIN_SIDE or w < MIN_SIDE or h * w > MAX_PIXELS:
        raise ValueError(
            f"shape must be at least {MIN_SIDE} px a side and at most "
            f"{MAX_PIXELS} pixels, got {shape!r}"
        )
    try:
        ps = float(pixel_size)
    except (TypeError, ValueError):
        ps = math.nan
    if not np.isfinite(ps) or ps <= 0:
        raise ValueError(f"pixel_size must be a positive number of µm per pixel, got {pixel_size}")
    allowed = kind_parameters(kind)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"kind {kind!r} has no parameter(s) {unknown}; it takes {sorted(allowed)}"
        )
    for name, value in params.items():
        rule = PARAMETERS.get(name)
        if value is None and (allowed[name] is None or (rule and rule.type == "switch")):
            continue  # None: drawn at random per seed
        if rule is not None:
            _check_value(kind, name, value, rule, (h, w), ps)
    bar = params.get("scale_bar")
    if bar is not None and bool(bar) and min(h, w) < MIN_SCALE_BAR_SIDE:
        raise ValueError(
            f"{kind}: scale_bar={bar!r} needs an image at least {MIN_SCALE_BAR_SIDE} px a side "
            f"(none is drawn on a smaller one), got {h} x {w}"
        )
    return (h, w), ps


def size_px(
    rng: np.random.Generator,
    pixel_size: float,
    shape: tuple[int, int],
    size_um: float | None,
    range_um: tuple[float, float],
) -> float:
    """A grain or particle size in pixels: ``size_um`` (already checked) or, when None, drawn
    uniformly in ``range_um`` µm, as a microscope would see it at ``pixel_size``.

    A drawn size is kept within what :data:`PARAMETERS` allows for one given in µm: at least
    :data:`MIN_GRAIN_PX` px and at most the image's longer side (or the range's top at
    :data:`REFERENCE_PIXEL_SIZE`, where that is larger: images at the default pixel size are
    drawn as they always were).
    """
    if size_um is not None:
        return float(size_um) / pixel_size
    lo, hi = range_um
    px = float(rng.uniform(lo, hi)) / pixel_size
    top = max(float(max(shape)), hi / REFERENCE_PIXEL_SIZE)
    return min(max(px, MIN_GRAIN_PX), top)


def _check_value(
    kind: str, name: str, value: Any, rule: Param, shape: tuple[int, int], ps: float
) -> None:
    """Raise ValueError unless ``value`` is allowed by ``rule``."""
    head = f"{kind}: {name}={value!r}"
    if rule.type == "switch":
        if not isinstance(value, bool | np.bool_) and value not in (0, 1):
            raise ValueError(f"{head} must be True or False (or None: drawn per seed)")
        return
    if rule.type == "choice":
        if value not in rule.choices:
            raise ValueError(f"{head} must be one of {list(rule.choices)} (or None)")
        return
    # True/False are not numbers (n_pores=True would be 1 pore)
    if isinstance(value, bool | np.bool_):
        raise ValueError(f"{head} is not a number: {_range_text(rule, shape, ps)}")
    if isinstance(value, str) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError(f"{head} must be a number, {_range_text(rule, shape, ps)}")
    v = float(value)
    if rule.type == "count" and not (math.isfinite(v) and v.is_integer()):
        raise ValueError(f"{head} must be a whole number, {_range_text(rule, shape, ps)}")
    if rule.type == "length":  # compared in pixels, as the kinds use it
        px, eps = v / ps, 1e-9
        below = v <= 0 or px < rule.min_px - eps
        above = px > max(shape) + eps
    else:
        below = v <= rule.lo if rule.lo_open else v < rule.lo
        above = v >= rule.hi if rule.hi_open else v > rule.hi
    if not math.isfinite(v) or below or above:
        raise ValueError(f"{head} is out of range: {_range_text(rule, shape, ps)}")


def _range_text(rule: Param, shape: tuple[int, int], ps: float) -> str:
    """The allowed range in words, e.g. "allowed [0, 1]"."""
    lo, hi = rule.lo, rule.hi
    lo_open = rule.lo_open
    if rule.type == "length":
        lo, hi, lo_open = rule.min_px * ps, max(shape) * ps, rule.min_px == 0
    interval = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if rule.hi_open else ']'}"
    if rule.type != "length":
        return f"allowed {interval}{' ' + rule.what if rule.what else ''}"
    low = f"{rule.what} at least {rule.min_px:g} px across" if rule.min_px else "above 0"
    return (
        f"allowed {interval} µm at {ps:g} µm/px on a {shape[0]} x {shape[1]} image "
        f"({low}, at most the image's longer side)"
    )


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
    seed : a whole number of at least 0; the same seed gives the same image and truth (None:
        a fresh random draw).
    **params : kind parameters (see :func:`kind_parameters`), e.g. ``grain_size_um``,
        artefact switches ``illumination``, ``noise``, ``blur``, ``dust``, ``scale_bar``
        (True/False, None = drawn at random per seed; ``scale_bar=True`` needs an image at
        least :data:`~.artefacts.MIN_SCALE_BAR_SIDE` px a side). Values outside
        :data:`PARAMETERS` raise ValueError.
    """
    fn = _lookup(kind)
    (h, w), ps = check_arguments(kind, shape, pixel_size, params, seed)
    seed = check_seed(seed)
    rng = np.random.default_rng(seed)
    result = fn(rng=rng, shape=(h, w), pixel_size=ps, **params)
    result.kind = kind
    result.pixel_size = ps
    result.truth = compute_truth(result, seed, params)
    return result
