"""The analysis pipeline an expert tuned in the viewer, as a YAML file that ``batch`` runs.

The dock widgets remember their parameters with :func:`core.settings.set_setting` under
``pipeline.detect``, ``pipeline.grains``, ``pipeline.measure`` and ``pipeline.pixel_size``;
:meth:`PipelineConfig.from_settings` collects them and :meth:`PipelineConfig.save` writes them,
so what runs at scale is exactly what was set up on one image.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .paths import config_dir
from .pipeline_options import (
    DETECT_CHECKS,
    MEASURE_CHECKS,
    PHASES_CHECKS,
    PipelineError,
    check_bool,
    check_grains,
    check_number,
    check_options,
)
from .settings import get_setting

VERSION = 1
DETECT_KEYS = tuple(DETECT_CHECKS)
QUALITY_DEFAULTS: dict[str, float] = {
    "min_sharpness": 0.05,  # steepest edges / grey range (core.batch.quality)
    "min_mean": 0.08,  # mean grey level below which the image is too dark
    "max_mean": 0.92,  # ... above which it is too bright
    "min_contrast": 0.02,  # standard deviation of the grey levels: flat image
    "min_structure": 2.0,  # structure over noise (core.image_noise): a noisy, featureless field
    "min_grains": 2,  # fewer grains = no grain structure found
}


def _grain_options(stored: dict[str, Any]) -> dict[str, Any]:
    """The stored grain settings that ``segment_all_grains`` takes for their engine.

    The Refine dock also remembers its class name and, whatever the engine, the SAM checkpoint
    and model type; passed on to the built-in engine they would fail every image of a batch.
    """
    engine = stored.get("engine", "classical")
    drop = {"enabled", "class_name"}
    if engine != "sam":
        drop |= {"checkpoint", "model_type"}
    if engine != "model":
        drop.add("model_path")
    return {k: v for k, v in stored.items() if k not in drop}


@dataclass
class PipelineConfig:
    """What the batch runner does to each image.

    Attributes
    ----------
    detect : keyword arguments of ``core.detect.detect`` plus ``model`` (a .pt path, None =
        the built-in demo model); None skips detection.
    grains : keyword arguments of ``core.grains.segment_all_grains`` (``engine``, ...); None
        skips grain segmentation (and so the grain measurement).
    phases : ``model_path`` (a phases model from ``train-seg``) and ``tta``; its phase map
        gives the phase fractions; None skips it.
    measure : ``enabled`` (measure the grains and phases), ``table`` (write the per-grain
        CSV), ``phase_names`` (names of the phase ids; default the model's class names).
    pixel_size : µm per pixel used for images whose file carries no calibration.
    force_pixel_size : use ``pixel_size`` even when the file has its own.
    quality : thresholds of the quality gate (see ``QUALITY_DEFAULTS``).
    """

    detect: dict[str, Any] | None = None
    grains: dict[str, Any] | None = None
    phases: dict[str, Any] | None = None
    measure: dict[str, Any] = field(default_factory=lambda: {"enabled": True, "table": True})
    pixel_size: float | None = None
    force_pixel_size: bool = False
    quality: dict[str, float] = field(default_factory=lambda: dict(QUALITY_DEFAULTS))
    version: int = VERSION

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`PipelineError` for values that cannot run."""
        if self.pixel_size is not None:
            ps = check_number("pixel_size", self.pixel_size)
            if ps <= 0:
                raise PipelineError(f"pixel_size must be a positive µm/px, got {self.pixel_size}")
            self.pixel_size = ps
        check_bool("force_pixel_size", self.force_pixel_size)
        if self.force_pixel_size and self.pixel_size is None:
            raise PipelineError("force_pixel_size is set but no pixel_size is given")
        for name in ("detect", "grains", "phases"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, dict):
                raise PipelineError(f"'{name}' must be a mapping of options or null")
        if self.detect is not None:
            check_options("detect", self.detect, DETECT_CHECKS)
        if self.grains is not None:
            check_grains(self.grains)
        if self.phases is not None:
            check_options("phases", self.phases, PHASES_CHECKS)
            if "model_path" not in self.phases:
                raise PipelineError("phases needs model_path (a phases model from train-seg)")
        if not isinstance(self.measure, dict):
            raise PipelineError("'measure' must be a mapping of options")
        check_options("measure", self.measure, MEASURE_CHECKS)
        if not isinstance(self.quality, dict):
            raise PipelineError("'quality' must be a mapping of thresholds")
        unknown = set(self.quality) - set(QUALITY_DEFAULTS)
        if unknown:
            raise PipelineError(f"unknown quality thresholds: {', '.join(sorted(unknown))}")
        given = {k: check_number(f"quality.{k}", v) for k, v in self.quality.items()}
        self.quality = {**QUALITY_DEFAULTS, **given}

    # -- conversions ------------------------------------------------------------------------
    @property
    def measures(self) -> bool:
        steps = self.grains is not None or self.phases is not None
        return bool(self.measure.get("enabled", True)) and steps

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipelineConfig:
        if not isinstance(data, dict):
            raise PipelineError("a pipeline file must hold a mapping (detect, grains, measure...)")
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise PipelineError(f"unknown pipeline keys: {', '.join(sorted(unknown))}")
        version = check_number("version", data.get("version", VERSION), integer=True)
        if version > VERSION:
            raise PipelineError(f"pipeline version {version} is newer than this plugin's")
        measure = data.get("measure") or {}
        if not isinstance(measure, dict):
            raise PipelineError("'measure' must be a mapping of options")
        measure = {"enabled": True, "table": True, **measure}
        return cls(**{**data, "measure": measure})

    @classmethod
    def from_settings(cls) -> PipelineConfig:
        """The pipeline the widgets have stored (unset steps are skipped).

        A stored value of a wrong type (a hand edit) is refused, as in a pipeline file, with a
        message naming it and the settings file: a batch over thousands of images must not run
        on defaults nobody chose. (The docks themselves read such a value as its default.)
        """
        try:
            return cls._from_stored()
        except PipelineError as exc:
            path = config_dir() / "settings.json"
            raise PipelineError(f"{path}: {exc}") from exc

    @classmethod
    def _from_stored(cls) -> PipelineConfig:
        def section(name: str) -> dict[str, Any] | None:
            value = get_setting(f"pipeline.{name}")
            if value is not None and not isinstance(value, dict):
                raise PipelineError(f"the setting 'pipeline.{name}' must be a mapping of options")
            return value

        detect = section("detect")
        if detect is not None:
            detect = {k: v for k, v in detect.items() if k in DETECT_KEYS}
        grains = section("grains")
        if grains is not None:
            grains = _grain_options(grains)
        measure = {"enabled": True, "table": True, **(section("measure") or {})}
        return cls(
            detect=detect,
            grains=grains,
            measure=measure,
            pixel_size=get_setting("pipeline.pixel_size"),
        )

    @classmethod
    def load(cls, path: str | Path) -> PipelineConfig:
        """Read a pipeline YAML file."""
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise PipelineError(f"{path}: cannot read the pipeline file: {exc}") from exc
        except yaml.YAMLError as exc:
            raise PipelineError(f"{path.name}: not valid YAML: {exc}") from exc
        except UnicodeDecodeError as exc:  # saved as Latin-1 by an editor, or not text at all
            raise PipelineError(f"{path.name}: not a UTF-8 text pipeline file ({exc})") from exc
        try:
            return cls.from_dict(data or {})
        except TypeError as exc:
            raise PipelineError(f"{path.name}: {exc}") from exc

    def save(self, path: str | Path) -> Path:
        """Write the pipeline as YAML (atomically)."""
        from .atomic import atomic_write_text

        header = "# napari-microstructure pipeline: run with `napari-microstructure batch`\n"
        text = yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)
        return atomic_write_text(path, header + text)

    def describe(self) -> str:
        """One line saying what runs, for logs and reports."""
        steps = []
        if self.detect is not None:
            model = self.detect.get("model")
            steps.append(f"detect ({Path(model).name if model else 'demo model'})")
        if self.grains is not None:
            steps.append(f"grains ({self.grains.get('engine', 'classical')})")
        if self.phases is not None:
            steps.append(f"phases ({Path(self.phases['model_path']).name})")
        if self.measures:
            steps.append("measure")
        return " + ".join(steps) or "quality check only"
