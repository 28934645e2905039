"""The Curate dock's active-learning queue panel."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from magicgui.widgets import ComboBox, Container, FileEdit, FloatSpinBox, PushButton
from napari.utils.notifications import show_error, show_info, show_warning

from .._layers import image_layer_kwargs
from .._layers.output import claim
from ..core.curate.sources import source_key
from ..core.progress import Progress
from ..core.settings import get_setting
from ._tables import ResultsTable
from ._values import PathValue, Value, as_path

if TYPE_CHECKING:
    from .curate import CurateWidget

# "typical": the ranking's density (how representative of the folder; weighs the score)
QUEUE_COLUMNS = ["rank", "name", "score", "typical", "done"]
DETECTOR, SEGMENTER = "detector", "segmentation model"  # what the queue ranks with
SEGMENT_SETTING = "pipeline.segment"  # the Segment dock's remembered model: {"model": path}


def _remembered_seg_model() -> str:
    saved = get_setting(SEGMENT_SETTING)
    return str(saved.get("model") or "") if isinstance(saved, dict) else ""


def _is_file(path: Path | None) -> bool:
    return path is not None and path.is_file()


def _active_detector_path(owner: CurateWidget) -> Path | None:
    project = owner.project
    active = project.active_for("detect") if project is not None else None
    return project.model_path(active["version"]) if active else None


class QueuePanel(Container):
    """Rank a folder of unlabelled images; open the most uncertain next; mark images done."""

    class_gain = Value("_gain", float)  # weight of the class gain in the queue order
    rank_with = Value("_rank_with", str)  # DETECTOR or SEGMENTER
    seg_model = PathValue("_seg_model")  # the segmentation model ranking with SEGMENTER

    def __init__(self, owner: CurateWidget) -> None:
        self._owner = owner
        self._folder = FileEdit(label="unlabelled folder", mode="d")
        self._rank_with = ComboBox(
            label="rank with", choices=[DETECTOR, SEGMENTER], value=DETECTOR
        )
        self._seg_model = FileEdit(
            label="segmentation model", mode="r", filter="*.pt", value=_remembered_seg_model()
        )
        self._seg_model.tooltip = "a phases or boundaries U-Net (.pt) from the Segment dock"
        self._seg_model.visible = False
        self._rank = PushButton(text="Rank by uncertainty")
        self._table = ResultsTable(QUEUE_COLUMNS)  # the rank column says the order
        self._table.max_width = 420
        self._next = PushButton(text="Open next")
        self.queue = pd.DataFrame(columns=["rank", "name", "score", "path", "done"])
        self.ranked_with: Path | None = None  # the segmentation model of the queue, if any
        # weight of the class gain (classes the done images lack); off by default: the benchmark
        # measured no gain over the plain order (docs/curate.md)
        self._gain = FloatSpinBox(label="class gain", min=0.0, max=5.0, step=0.5, value=0.0)
        widgets = [self._folder, self._rank_with, self._seg_model, self._gain]
        widgets += [self._rank, self._table, self._next]
        super().__init__(widgets=widgets, labels=True)
        self._rank_with.changed.connect(self._on_rank_with)
        self._rank.changed.connect(lambda: self.rank(self._folder.value))
        self._next.changed.connect(self.open_next)

    def _on_rank_with(self, value: str) -> None:
        seg = value == SEGMENTER
        self._seg_model.visible = seg
        self._gain.visible = not seg  # the class gain counts a detector's objects
        if seg and not _is_file(self.seg_model):
            self.seg_model = _remembered_seg_model()

    def rank(self, folder: str | Path) -> Any:
        """Rank the images of ``folder`` with the project's active detector (or the demo one),
        or, with **rank with** set to a segmentation model, by that model's pixel uncertainty."""
        from ..core.curate.active import rank_folder
        from ..core.detect import load_detector

        if as_path(folder) is None:  # a blank folder field reads as the working folder
            show_error("Choose the folder of unlabelled images first.")
            return None
        if self.rank_with == SEGMENTER:
            return self._rank_segmentation(folder)
        project = self._owner.project
        if project is None:
            show_error("Open a project first: the ranking uses its detector and labelled images.")
            return None
        model = _active_detector_path(self._owner)
        labelled = [i for i in project.image_ids if project.image_record(i).get("files")]
        labelled = labelled[:: max(1, len(labelled) // 16)][:16]
        rarity = self.class_gain

        def make() -> Generator[Progress, None, pd.DataFrame]:
            from ..core.curate.items import labelled_class_counts

            yield Progress(0, 1, "loading the detector")
            detector = load_detector(model)
            # the labelled images are the reference of the out-of-distribution signal
            reference = [project.read_image(i) for i in labelled] or None
            # their classes (images marked done) weight the queue toward classes they lack
            known = {str(v) for v in detector.names.values()}
            counts = {k: v for k, v in labelled_class_counts(project).items() if k in known}
            use = rarity > 0 and any(counts.values())
            return (
                yield from rank_folder(
                    folder,
                    detector,
                    reference=reference,
                    class_counts=counts if use else None,
                    rarity=rarity,
                )
            )

        return self._owner._start(make, lambda df: self._ranked(df, None), "Ranking")

    def _rank_segmentation(self, folder: str | Path) -> Any:
        """Rank by the chosen segmentation model's mean pixel uncertainty."""
        from ..core.curate.active_seg import rank_folder_seg

        model = self.seg_model
        if model is None or model.is_dir():  # a blank file field reads as the working folder
            show_error("Choose the segmentation model file (.pt) to rank with.")
            return None

        def make() -> Generator[Progress, None, pd.DataFrame]:
            from ..core.segment import load_model  # torch: imported off the GUI thread

            yield Progress(0, 1, "loading the segmentation model")
            return (yield from rank_folder_seg(folder, load_model(model)))

        return self._owner._start(make, lambda df: self._ranked(df, model), "Ranking")

    def _ranked(self, df: pd.DataFrame, seg_model: Path | None) -> None:
        done = self._done_sources()
        # queue order = uncertainty + novelty (``priority``), so ``score`` alone is not sorted
        keep = ("rank", "name", "score", "uncertainty", "density", "priority", "gain", "path")
        q = df[[c for c in keep if c in df]].copy()
        q["done"] = [source_key(p) in done for p in q["path"]]
        self.queue = q.reset_index(drop=True)
        self.ranked_with = seg_model
        self._show()
        skipped = df.attrs.get("skipped") or []
        if skipped:
            names = ", ".join(s["name"] for s in skipped[:5]) + (", …" if len(skipped) > 5 else "")
            show_warning(f"Skipped {len(skipped)} image(s) that could not be read: {names}")

    def _done_sources(self) -> set[str]:
        project = self._owner.project
        if project is None:
            return set()
        recs = [project.image_record(i) for i in project.image_ids]
        return {source_key(r["source"]) for r in recs if r.get("done") and r.get("source")}

    def _show(self) -> None:
        q = self.queue
        # a segmentation ranking has no density: its order is the score alone
        typical = [f"{float(t):.2f}" for t in q["density"]] if "density" in q else ["–"] * len(q)
        cols = (q["rank"], q["name"], q["score"], typical, q["done"])
        rows = [
            [int(r), str(n), f"{float(s):.3f}", t, "yes" if d else ""]
            for r, n, s, t, d in zip(*cols, strict=True)
        ]
        self._table.show_rows(rows, QUEUE_COLUMNS)

    @property
    def table_rows(self) -> list[list[Any]]:
        """What the queue table shows, row by row."""
        return [list(row) for row in self._table.data]

    @property
    def next_path(self) -> str | None:
        """The highest-ranked image not done yet."""
        todo = self.queue[~self.queue["done"].astype(bool)]
        return None if todo.empty else str(todo.iloc[0]["path"])

    def open_next(self) -> Any:
        """Open the next image of the queue with the proposals of the model it was ranked with:
        the detector's boxes, or the segmentation model's phases or grains."""
        path = self.next_path
        if path is None:
            show_info("The queue is empty: rank a folder first, or everything is done.")
            return None
        project = self._owner.project
        if project is None:
            show_error("Open a project first: the image is added to it.")
            return None
        from ..core.imageio import read_micrograph

        model = self.ranked_with or _active_detector_path(self._owner)
        propose = _seg_proposals if self.ranked_with else _box_proposals
        project_models = project.root / "models"

        def make() -> Generator[Progress, None, tuple]:
            yield Progress(0, 2, f"opening {Path(path).name}")
            mf = read_micrograph(path)
            labels, used = yield from propose(mf, model)
            own = Path(used).parent.parent.resolve() == project_models.resolve()
            return project, path, mf, labels, _model_source(Path(used), project_models), own

        return self._owner._start(make, self._opened, "Open next")

    def _opened(self, result: tuple) -> None:
        asked, path, mf, labels, source, own = result
        owner = self._owner
        project = owner.project
        if project is None or project.root.resolve() != asked.root.resolve():
            # the proposals belong to the project they were made for
            show_info(f"{Path(path).name} was not added: another project was opened meanwhile.")
            return
        if not owner._flushed():  # the open image stays open, as it was
            return
        image_id, layer = project.find_image(path), None
        if image_id is None:
            name = Path(path).name
            try:
                labels = _in_project_classes(labels, project.classes, renamed_ok=own)
                labels = _named_phases(project, labels)
            except ValueError as exc:  # nothing added: the user adds the classes, then again
                show_error(f"{name} was not added: {exc}")
                return
            try:
                image_id = project.add_image(mf.data, name, pixel_size=mf.pixel_size, source=path)
            except (ValueError, OSError) as exc:  # ProjectError is a ValueError
                show_error(f"Cannot add {name} to the project: {exc}")
                return
            try:
                project.save_labels(image_id, source=source, **labels)
            except (ValueError, OSError) as exc:
                show_error(f"{image_id} was added, but not the model's proposals: {exc}")
            # the dock's layer (claimed): taken out of the viewer when the dock switches images
            layer = claim(
                owner.viewer.add_image(mf.data, **image_layer_kwargs(mf.pixel_size, name))
            )
        owner._refresh_images(image_id)
        owner.open_image(image_id, image_layer=layer)
        if layer is not None and owner.current_image_id != image_id:  # refused: told why
            owner.viewer.layers.remove(layer)

    def mark_done(self, source: str | None) -> None:
        if source and not self.queue.empty:
            same = [source_key(p) == source_key(source) for p in self.queue["path"]]
            self.queue.loc[same, "done"] = True
            self._show()


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


#: the phase names of a phases model's proposals (taken out before the labels are saved)
PHASE_NAMES = "phase_names"


def _named_phases(project: Any, labels: dict[str, Any]) -> dict[str, Any]:
    """The labels to save, without the model's phase names; those name the project's phases
    while it has only the default names (:data:`..core.curate.manifest` "matrix")."""
    names = labels.get(PHASE_NAMES)
    labels = {k: v for k, v in labels.items() if k != PHASE_NAMES}
    if names and project.phase_names == ["matrix"] and names != ["matrix"]:
        project.set_phase_names(names)
        show_info(f"The project's phases 0, 1, ... are named as the model's: {', '.join(names)}.")
    return labels
