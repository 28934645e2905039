"""Shared by the curate tests: a small synthetic project and one tiny detector per session."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import napari_microstructure  # noqa: F401  (offline ultralytics first)
from napari_microstructure.core.curate import Project
from napari_microstructure.core.synthetic import DEFECT_CLASSES, generate

_CACHE: dict = {}
#: enough objects on a 128 px field
COUNTS = {"n_inclusions": 3, "n_pores": 2, "n_precipitates": 4, "n_cracks": 1, "n_scratches": 0}


def synthetic_project(root: Path, n: int = 4, size: int = 128, seed0: int = 0) -> Project:
    """A project of ``n`` "defects" micrographs with their true instance masks and classes."""
    project = Project.create(root, classes=list(DEFECT_CLASSES))
    for s in range(seed0, seed0 + n):
        m = generate("defects", shape=(size, size), pixel_size=0.5, seed=s, **COUNTS)
        image_id = project.add_image(m.image, f"defects{s}.png", pixel_size=0.5)
        classes = {int(o["id"]): int(o["class_id"]) for o in m.objects}
        project.save_labels(
            image_id, instances=m.defects.astype(np.uint32), classes=classes, source="synthetic"
        )
    return project


def tiny_training(tmp_path_factory):
    """One YOLOv8n detection epoch at 128 px on an exported synthetic project (once per session).

    Returns the ``TrainResult``; the export goes through ``export_project`` ("yolo").
    """
    if "detect" not in _CACHE:
        import torch

        from napari_microstructure.core.curate.export import export_project
        from napari_microstructure.core.curate.train import TrainJob
        from napari_microstructure.core.progress import run_to_end

        torch.set_num_threads(1)
        root = tmp_path_factory.mktemp("tiny-detector")
        project = synthetic_project(root / "proj")
        files = run_to_end(export_project(project, root / "export", ["yolo"]))
        data = next(f for f in files["yolo"] if f.endswith("data.yaml"))
        job = TrainJob(
            data, root / "run", epochs=1, imgsz=128, batch=4, device="cpu", pixel_size=0.5
        )
        messages: list[str] = []
        result = run_to_end(job.run(), lambda p: messages.append(p.message))
        result.messages = messages
        _CACHE["detect"] = result
    return _CACHE["detect"]


def tiny_detector(tmp_path_factory) -> Path:
    """Weights of :func:`tiny_training`."""
    return tiny_training(tmp_path_factory).weights


#: the demo detector's classes, in its order
DETECT_CLASSES = ["inclusion", "pore", "crack", "precipitate"]


def domain_item(seed: int, domain: str = "base", size: int = 128):
    """A synthetic image of ``domain`` with its boxes, class ids in the demo detector's order."""
    from napari_microstructure.core.curate.domains import domain_item as make

    return make(seed, domain, size, 0.5, DETECT_CLASSES)


def write_yolo_set(root: Path, train: list, val: list) -> Path:
    """A YOLO detection dataset (images, box labels, data.yaml) of export items."""
    from napari_microstructure.core.curate.yolo import save_image, write_data_yaml, yolo_box_lines

    for split, items in (("train", train), ("val", val)):
        for it in items:
            save_image(root / "images" / split / f"{it.name}.png", it.image)
            lab = root / "labels" / split / f"{it.name}.txt"
            lab.parent.mkdir(parents=True, exist_ok=True)
            lab.write_text("\n".join(yolo_box_lines(it)) + "\n")
    return Path(write_data_yaml(root, DETECT_CLASSES))


def queue_of(panel, paths: list[Path]) -> None:
    """A ranked queue on the Curate dock's queue ``panel`` (as a detector ranking leaves it,
    without digests), without running the ranking."""
    import pandas as pd

    panel.queue = pd.DataFrame(
        {
            "rank": range(1, len(paths) + 1),
            "name": [p.name for p in paths],
            "score": [1.0] * len(paths),
            "path": [str(p) for p in paths],
            "done": [False] * len(paths),
        }
    )
    panel.ranked_with = None
