"""Synthetic micrographs with exact ground truth.

``generate(kind, shape, pixel_size, seed, **params)`` draws one; ``KINDS`` lists the kinds and
``register_kind(name)`` adds one from another module. See docs/synthetic.md.
"""

from importlib.util import find_spec

from .micrograph import DEFECT_CLASSES, SyntheticMicrograph
from .registry import KINDS, PARAMETERS, Param, generate, kind_parameters, register_kind

# kinds register themselves on import
from . import defects, phases, polycrystal  # noqa: E402,F401  isort: skip

if find_spec(f"{__name__}.structures") is not None:  # microstructure classes (Classify area)
    from . import structures  # noqa: F401

__all__ = [
    "DEFECT_CLASSES",
    "KINDS",
    "PARAMETERS",
    "Param",
    "SyntheticMicrograph",
    "generate",
    "kind_parameters",
    "register_kind",
]
