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
from ._curate_open import knowing, open_image
from ._curate_queue_open import Opened, _model_source, open_queued  # noqa: F401 - (tests)
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
            ranking = rank_folder(
                folder,
                detector,
                reference=reference,
                class_counts=counts if use else None,
                rarity=rarity,
            )
            return (yield from _matched(project, ranking))

        return self._owner._start(make, lambda df: self._ranked(df, None), "Ranking")

    def _rank_segmentation(self, folder: str | Path) -> Any:
        """Rank by the chosen segmentation model's mean pixel uncertainty."""
        from ..core.curate.active_seg import rank_folder_seg

        model = self.seg_model
        if model is None or model.is_dir():  # a blank file field reads as the working folder
            show_error("Choose the segmentation model file (.pt) to rank with.")
            return None
        project = self._owner.project  # its images are matched to the ranked ones

        def make() -> Generator[Progress, None, pd.DataFrame]:
            from ..core.segment import load_model  # torch: imported off the GUI thread

            yield Progress(0, 1, "loading the segmentation model")
            return (yield from _matched(project, rank_folder_seg(folder, load_model(model))))

        return self._owner._start(make, lambda df: self._ranked(df, model), "Ranking")

    def _ranked(self, df: pd.DataFrame, seg_model: Path | None) -> None:
        # queue order = uncertainty + novelty (``priority``), so ``score`` alone is not sorted
        keep = ("rank", "name", "score", "uncertainty", "density", "priority", "gain", "path")
        q = df[[c for c in (*keep, "digest") if c in df]].copy()
        q["done"], q["gone"], q["image_id"] = False, False, None
        self.queue = q.reset_index(drop=True)
        self.ranked_with = seg_model
        self._marks()
        skipped = df.attrs.get("skipped") or []
        if skipped:
            names = ", ".join(s["name"] for s in skipped[:5]) + (", …" if len(skipped) > 5 else "")
            show_warning(f"Skipped {len(skipped)} image(s) that could not be read: {names}")

    def _marks(self) -> None:
        """Mark the rows in the project (added from their file, or with their pixels: moved or
        renamed since) and those done there; then show the queue."""
        q, project = self.queue, self._owner.project
        if project is not None and not q.empty:
            digests = q["digest"] if "digest" in q else [None] * len(q)
            before = q["image_id"] if "image_id" in q else [None] * len(q)
            done = {r["id"] for r in project.manifest["images"] if r.get("done")}
            ids, marked = [], []
            matches = project.match_images(q["path"], digests)
            for found, was, old in zip(matches, _flag(q, "done"), before, strict=True):
                # (an image Open next found by its pixels, where the queue has no digests)
                found = found or ([old] if old in project.image_ids else [])
                finished = [i for i in found if i in done]
                ids.append((finished or found or [None])[0])
                marked.append(bool(was or finished))
            q["image_id"], q["done"] = ids, marked
        self._show()

    def _show(self) -> None:
        q = self.queue
        # a segmentation ranking has no density: its order is the score alone
        typical = [f"{float(t):.2f}" for t in q["density"]] if "density" in q else ["–"] * len(q)
        ids = q["image_id"] if "image_id" in q else [None] * len(q)
        state = [
            "gone" if g else "yes" if d else "in project" if isinstance(i, str) else ""
            for d, g, i in zip(_flag(q, "done"), _flag(q, "gone"), ids, strict=True)
        ]
        cols = (q["rank"], q["name"], q["score"], typical, state)
        rows = [
            [int(r), str(n), f"{float(s):.3f}", t, d] for r, n, s, t, d in zip(*cols, strict=True)
        ]
        self._table.show_rows(rows, QUEUE_COLUMNS)

    @property
    def table_rows(self) -> list[list[Any]]:
        """What the queue table shows, row by row."""
        return [list(row) for row in self._table.data]

    @property
    def next_path(self) -> str | None:
        """The highest-ranked image not done yet (and not gone from its folder)."""
        todo = self.queue[~(_flag(self.queue, "done") | _flag(self.queue, "gone"))]
        return None if todo.empty else str(todo.iloc[0]["path"])

    def _next_there(self) -> str | None:
        """:attr:`next_path`, after marking gone (and telling, once) the files no longer
        there: moved, renamed or deleted since the ranking."""
        gone = []
        while (path := self.next_path) is not None and not Path(path).is_file():
            gone.append(path)
            self._mark_gone([path])
        if gone:
            self._mark_gone(gone, tell=True)
        return path

    def _mark_gone(self, paths: list[str], tell: bool = False) -> None:
        q = self.queue
        if "gone" not in q:
            q["gone"] = False
        q.loc[q["path"].astype(str).isin([str(p) for p in paths]), "gone"] = True
        self._show()
        if tell:
            show_warning(
                f"Skipped {', '.join(Path(p).name for p in paths)}: no longer there (moved, "
                "renamed or deleted since the ranking); rank its folder again to queue it."
            )

    def open_next(self) -> Any:
        """Open the next image of the queue: the project's copy with its saved labels when the
        project has it (from that file, or the same pixels moved or renamed), else the image
        with the proposals of the model it was ranked with (the detector's boxes, or the
        segmentation model's phases or grains)."""
        path = self._next_there()
        if path is None:
            show_info("The queue is empty: rank a folder first, or everything is done.")
            return None
        project = self._owner.project
        if project is None:
            show_error("Open a project first: the image is added to it.")
            return None
        model = self.ranked_with or _active_detector_path(self._owner)
        seg = self.ranked_with is not None

        def make() -> Generator[Progress, None, Opened]:
            return (yield from open_queued(self._owner, project, path, model, seg))

        return self._owner._start(make, self._opened, "Open next")

    def _opened(self, res: Opened) -> None:
        """Show what Open next's worker found or added (its layer made here, on the GUI
        thread), and tell what it could not do."""
        for message in res.errors:
            show_error(message)
        for message in res.infos:
            show_info(message)
        if res.gone:  # (deleted after Open next was pressed)
            self._mark_gone([res.path], tell=True)
            return
        owner, image_id, name = self._owner, res.image_id, Path(res.path).name
        if image_id is None:
            return
        project = owner.project
        if project is None or project.root.resolve() != res.project.root.resolve():
            where = f"added to {res.project.root.name} as {image_id}" if res.added else "opened"
            show_info(f"{name} was {where}, not opened: another project was opened meanwhile.")
            return
        if knowing(owner, image_id, name, show_info) is None:  # (read before the addition)
            return
        self._mark_in_project(res.path, image_id)
        if not owner._flushed():  # the open image stays open, as it was
            if res.added:
                show_info(f"{name} was added to the project as {image_id}; open it from there.")
            return
        layer = None
        if res.added:  # the dock's layer (claimed): taken out of the viewer on a switch
            kwargs = image_layer_kwargs(res.mf.pixel_size, name)
            layer = claim(owner.viewer.add_image(res.mf.data, **kwargs))
        owner._refresh_images(image_id)
        open_image(owner, image_id, image_layer=layer, loaded=res.loaded)
        if layer is not None and owner.current_image_id != image_id:  # refused: told why
            owner.viewer.layers.remove(layer)

    def _mark_in_project(self, path: str, image_id: str) -> None:
        q = self.queue
        if not q.empty:
            if "image_id" not in q:
                q["image_id"] = None
            q.loc[[source_key(p) == source_key(path) for p in q["path"]], "image_id"] = image_id
            self._marks()

    def mark_done(self, source: str | None) -> None:
        """Mark the rows of ``source`` done, and those of images the project has done (the
        same pixels under another path)."""
        if source and not self.queue.empty:
            same = [source_key(p) == source_key(source) for p in self.queue["path"]]
            self.queue.loc[same, "done"] = True
            self._marks()


def _flag(q: pd.DataFrame, column: str) -> pd.Series:
    """A yes/no column of the queue (all no when it has none)."""
    values = q[column] if column in q else [False] * len(q)
    return pd.Series([bool(v) and v == v for v in values], index=q.index, dtype=bool)  # NaN: no


def _matched(
    project: Any, ranking: Generator[Progress, None, pd.DataFrame]
) -> Generator[Progress, None, pd.DataFrame]:
    """The ranking, with the digests of the project's images that may be ranked ones learnt
    (the images of an older project file have none recorded): see ``_marks``."""
    df = yield from ranking
    if project is not None and "digest" in df:
        yield Progress(1, 1, "finding the ranked images in the project")
        project.learn_digests(df["digest"], skip=df["path"])
    return df
