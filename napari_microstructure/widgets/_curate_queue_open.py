"""Open next's work off the GUI thread: read a queued image, find it in the project (by source
file or by pixels) or add it with the ranking model's proposals.

The project's writes (the compressed image copy, the proposals) happen here, in the worker:
the :class:`~..core.curate.project.Project` serialises them with autosave's (its lock, and the
folder's lock across objects). What the user is told, and the layers, are left to the dock.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.curate.digest import pixel_digest
from ..core.progress import Progress

#: the phase names of a phases model's proposals (taken out before the labels are saved)
PHASE_NAMES = "phase_names"


@dataclass
class Opened:
    """What Open next's worker did with the image at ``path``."""

    path: str
    project: Any = None  #: the project object it was found in or added to
    image_id: str | None = None  #: None: nothing to open (see ``errors``, ``gone``)
    mf: Any = None  #: the micrograph read, when added (its layer is made on the GUI thread)
    added: bool = False
    gone: bool = False  #: the file is no longer there
    errors: list[str] = field(default_factory=list)  #: to tell, as errors
    infos: list[str] = field(default_factory=list)
    loaded: Any = None  #: its saved labels, read here (:func:`._curate_open.read_saved`)


def _still_open(owner: Any, asked: Any) -> Any:
    """The dock's project when it is still ``asked``'s folder, else None."""
    project = owner.project
    if project is None or project.root.resolve() != asked.root.resolve():
        return None
    return project


def open_queued(
    owner: Any, asked: Any, path: str, model: Path | None, segmentation: bool
) -> Generator[Progress, None, Opened]:
    """Open next's worker: the image at ``path`` found in the project the dock has open (the
    same folder as ``asked``), or added to it with the proposals of ``model`` (a segmentation
    model's with ``segmentation``, else a detector's)."""
    from ..core.imageio import read_micrograph

    name = Path(path).name
    yield Progress(0, 3, f"opening {name}")
    if not Path(path).is_file():  # moved, renamed or deleted since the ranking
        return Opened(path, gone=True)
    mf = read_micrograph(path)
    digest = pixel_digest(mf.data)
    project = _still_open(owner, asked)
    if project is None:
        return Opened(path, infos=[f"{name} was not added: another project was opened meanwhile."])
    newest = project.reread() if project.behind else project  # another window's additions
    found = newest.find_image(path, digest)  # also when moved or renamed since it was added
    if found is not None:
        return _with_labels(Opened(path, newest, found), pixels=True)  # as saved
    propose = _seg_proposals if segmentation else _box_proposals
    labels, used = yield from propose(mf, model)
    project_models = project.root / "models"
    own = Path(used).parent.parent.resolve() == project_models.resolve()
    source = _model_source(Path(used), project_models)
    yield Progress(2, 3, f"adding {name} to the project")
    project = _still_open(owner, asked)
    if project is None:
        return Opened(path, infos=[f"{name} was not added: another project was opened meanwhile."])
    newest = project.reread() if project.behind else project
    found = newest.find_image(path, digest)
    if found is not None:
        return _with_labels(Opened(path, newest, found), pixels=True)
    out = Opened(path, project, mf=mf)
    try:
        labels = _in_project_classes(labels, project.classes, renamed_ok=own)
        labels = _named_phases(project, labels, out.infos)
    except ValueError as exc:  # nothing added: the user adds the classes, then again
        out.errors.append(f"{name} was not added: {exc}")
        return out
    try:  # over another window's saves of other images (follow), not refused
        out.image_id = project.add_image(
            mf.data, name, pixel_size=mf.pixel_size, source=path, digest=digest, follow=True
        )
    except (ValueError, OSError) as exc:  # ProjectError is a ValueError
        out.errors.append(f"Cannot add {name} to the project: {exc}")
        return out
    out.added = True
    try:
        project.save_labels(out.image_id, source=source, follow=True, **labels)
    except (ValueError, OSError) as exc:
        out.errors.append(f"{out.image_id} was added, but not the model's proposals: {exc}")
    return _with_labels(out)


def _with_labels(out: Opened, pixels: bool = False) -> Opened:
    """``out`` with its image's saved labels (and pixels) read here, in the worker: on the GUI
    thread a large image's took seconds (read again there when this fails, and told)."""
    from ._curate_open import read_saved

    try:
        out.loaded = read_saved(out.project, out.image_id, pixels=pixels)
    except (ValueError, OSError):
        out.loaded = None
    return out


def _model_source(weights: Path, project_models: Path) -> str:
    """An object's provenance: ``model:<version>`` for a project's model, else the file name."""
    if weights.parent.parent.resolve() == project_models.resolve():
        return f"model:{weights.parent.name}"
    return f"model:{weights.name}"


def _box_proposals(mf: Any, model: Path | None) -> Generator[Progress, None, tuple]:
    """The detector's boxes on the micrograph, and the detector's file."""
    from ..core.detect import detect, load_detector

    detector = load_detector(model)
    df = yield from detect(mf.data, detector, pixel_size=mf.pixel_size)
    boxes = [
        {
            "x1": r.x1,
            "y1": r.y1,
            "x2": r.x2,
            "y2": r.y2,
            "class_id": int(r.class_id),
            "class_name": str(r.class_name),
            "confidence": float(r.confidence),
        }
        for r in df.itertuples()
    ]
    return {"boxes": boxes}, detector.path


def _in_project_classes(
    labels: dict[str, Any], classes: list[str], renamed_ok: bool = False
) -> dict[str, Any]:
    """The detector's boxes with the project's class ids, matched by class name.

    ``renamed_ok``: the detector is one of the project's own versions, trained when its classes
    may have had other names; a name the project no longer has keeps its id (a class renamed
    in place keeps its position).

    Raises
    ------
    ValueError : a class the detector found is not one of the project's classes.
    """
    if "boxes" not in labels:
        return labels
    ids = {n: i for i, n in enumerate(classes)}

    def known(box: dict[str, Any]) -> int | None:
        if box["class_name"] in ids:
            return ids[box["class_name"]]
        return box["class_id"] if renamed_ok and 0 <= box["class_id"] < len(classes) else None

    missing = sorted({b["class_name"] for b in labels["boxes"] if known(b) is None})
    if missing:
        raise ValueError(
            f"the detector found {', '.join(map(repr, missing))}, which "
            f"{'is' if len(missing) == 1 else 'are'} not among the project's classes "
            f"({', '.join(classes)}): add {'it' if len(missing) == 1 else 'them'} to the "
            "classes, then open it again"
        )
    boxes = [
        {**{k: v for k, v in b.items() if k != "class_name"}, "class_id": known(b)}
        for b in labels["boxes"]
    ]
    return {**labels, "boxes": boxes}


def _seg_proposals(mf: Any, model: Path) -> Generator[Progress, None, tuple]:
    """The segmentation model's phases (or grains) on the micrograph, and the model's file."""
    from ..core.curate.active_seg import seg_proposals
    from ..core.segment import load_model

    seg = load_model(model)
    labels = yield from seg_proposals(mf.data, seg, mf.pixel_size)
    if "phases" in labels:  # the model's names of the phase ids (:func:`_named_phases`)
        labels[PHASE_NAMES] = list(seg.classes)
    return labels, model


def _named_phases(project: Any, labels: dict[str, Any], told: list[str]) -> dict[str, Any]:
    """The labels to save, without the model's phase names; those name the project's phases
    while it has only the default names (:data:`..core.curate.manifest` "matrix"); what to tell
    the user goes to ``told``."""
    names = labels.get(PHASE_NAMES)
    labels = {k: v for k, v in labels.items() if k != PHASE_NAMES}
    if names and project.phase_names == ["matrix"] and names != ["matrix"]:
        project.set_phase_names(names)
        named = ", ".join(names)
        told.append(f"The project's phases 0, 1, ... are named as the model's: {named}.")
    return labels
