"""Checks of a pipeline's options against the functions that receive them.

A pipeline file is edited by hand; a misspelt option or a value of the wrong type must be
refused when the file is loaded, not fail every image of a long batch. Option names of the
grain engines come from the signatures of the functions ``segment_all_grains`` passes them to.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from functools import lru_cache
from numbers import Integral, Real
from typing import Any


class PipelineError(ValueError):
    """The pipeline file or settings cannot be used; the message says why."""


def check_bool(name: str, value: Any) -> bool:
    """``value`` if it is a real boolean (YAML ``true``/``false``, not the string "false")."""
    if not isinstance(value, bool):
        raise PipelineError(f"{name} must be true or false, got {value!r}")
    return value


def check_number(
    name: str, value: Any, *, integer: bool = False, low: float | None = None
) -> float | int:
    """``value`` as a finite number (an ``int`` with ``integer``), at least ``low``."""
    kind = Integral if integer else Real
    if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(value):
        raise PipelineError(
            f"{name} must be {'an integer' if integer else 'a number'}, got {value!r}"
        )
    if low is not None and value < low:
        raise PipelineError(f"{name} must be at least {low}, got {value!r}")
    return int(value) if integer else float(value)


def _optional_path(name: str, value: Any) -> None:
    if value is not None and not isinstance(value, str):
        raise PipelineError(f"{name} must be a file path or null, got {value!r}")


def _names(name: str, value: Any) -> None:
    ok = isinstance(value, list) and all(
        isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)) for v in value
    )
    if value is not None and not ok:
        raise PipelineError(f"{name} must be a list of names or null, got {value!r}")


def _phase_names(name: str, value: Any) -> None:
    _names(name, value)
    if value and len(set(map(str, value))) < len(value):  # results are keyed by name
        raise PipelineError(f"{name} names a phase twice: {value!r}; give each its own name")


def _fraction(name: str, value: Any) -> None:
    if not 0 <= check_number(name, value) <= 1:
        raise PipelineError(f"{name} must be between 0 and 1, got {value!r}")


def _count(name: str, value: Any) -> None:
    check_number(name, value, integer=True, low=1)


DETECT_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "model": _optional_path,
    "conf": _fraction,
    "iou": _fraction,
    "max_det": _count,
    "agnostic": check_bool,
    "classes": _names,
}


def _path(name: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise PipelineError(f"{name} must be a file path, got {value!r}")


#: a phases model from train-seg (``segment``) whose map goes to the phase fractions
PHASES_CHECKS: dict[str, Callable[[str, Any], Any]] = {"model_path": _path, "tta": check_bool}
# enabled/table/phase_names drive the batch; bins and log are the Measure dock's plot settings,
# saved with the pipeline by the viewer
MEASURE_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "enabled": check_bool,
    "table": check_bool,
    "phase_names": _phase_names,
    "bins": _count,
    "log": check_bool,
}


def check_options(section: str, options: dict[str, Any], checks: dict[str, Callable]) -> None:
    """Refuse keys of ``options`` that ``checks`` lacks and values their check refuses."""
    unknown = set(options) - set(checks)
    if unknown:
        raise PipelineError(f"unknown {section} options: {', '.join(sorted(map(str, unknown)))}")
    for key, value in options.items():
        checks[key](f"{section}.{key}", value)


def _defaults(func: Callable, skip: set[str]) -> dict[str, Any]:
    return {
        p.name: p.default
        for p in inspect.signature(func).parameters.values()
        if p.name not in skip and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    }


@lru_cache(maxsize=8)
def grain_defaults(engine: str) -> dict[str, Any] | None:
    """Options ``segment_all_grains`` takes for ``engine``, with their defaults.

    None when they cannot be known here (``sam`` without segment_anything installed).
    """
    from .grains.classical import segment_from_boundaries
    from .grains.sam_all import sam_grains
    from .refine.learned_boundary import segment_grains

    if engine in ("classical", "learned"):
        # segment_grains sets the boundary map, its colour and cut_pieces itself
        own = _defaults(segment_grains, {"image", "source"})
        return {**own, **_defaults(segment_from_boundaries, {"bmap", "colour", "cut_pieces"})}
    if engine == "model":
        return {"model_path": None}
    try:
        from segment_anything import SamAutomaticMaskGenerator
    except ImportError:
        return None
    return {
        "checkpoint": None,
        **_defaults(sam_grains, {"image"}),
        **_defaults(SamAutomaticMaskGenerator.__init__, {"self", "model"}),
    }


def _optional_number(name: str, value: Any) -> None:
    if value is not None:
        check_number(name, value)


def _optional_bool(name: str, value: Any) -> None:
    if value is not None:
        check_bool(name, value)


#: the seed methods of ``segment_from_boundaries`` (which takes any other value as "distance")
SEED_METHODS = ("distance", "minima")


def _seeds(name: str, value: Any) -> None:
    if value not in SEED_METHODS:
        raise PipelineError(f"{name} must be one of {', '.join(SEED_METHODS)}, got {value!r}")


#: grain options whose default (None, or a string of a few choices) does not tell their type
GRAIN_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "h": _optional_number,
    "merge_ratio": _optional_number,
    "faint": _optional_number,
    "crests": _optional_bool,
    "twins": _optional_bool,
    "seeds": _seeds,
    "model_path": _optional_path,
    "checkpoint": _optional_path,
}


def check_grains(options: dict[str, Any]) -> None:
    """Refuse an unknown engine, options it does not take, and values of the wrong type."""
    from .grains.segment_all import GRAIN_ENGINES

    engine = options.get("engine", "classical")
    if engine not in GRAIN_ENGINES:
        raise PipelineError(
            f"grains.engine: unknown engine {engine!r}; choose one of {', '.join(GRAIN_ENGINES)}"
        )
    defaults = grain_defaults(engine)
    if defaults is None:
        return
    rest = {k: v for k, v in options.items() if k != "engine"}
    unknown = set(rest) - set(defaults)
    if unknown:
        raise PipelineError(
            f"unknown grains options for engine {engine}: {', '.join(sorted(map(str, unknown)))}"
        )
    for key, value in rest.items():
        default, name = defaults[key], f"grains.{key}"
        # the type of a default says what the option is; None defaults say nothing, so
        # those options have checks of their own
        if key in GRAIN_CHECKS:
            GRAIN_CHECKS[key](name, value)
        elif isinstance(default, bool):
            check_bool(name, value)
        elif isinstance(default, int):
            check_number(name, value, integer=True)
        elif isinstance(default, float):
            check_number(name, value)
        elif isinstance(default, str) and not isinstance(value, str):
            raise PipelineError(f"{name} must be a name such as {default!r}, got {value!r}")
