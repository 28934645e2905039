"""Screenshots for docs/classify.md: the Classify dock with probabilities, class map, Grad-CAM.

Usage: ``python docs/_scripts/shot_classify.py [MODEL.pt]``. Without a model it trains one on
the synthetic classes first (a few minutes on a CPU); the benchmark saves one with
``benchmarks/bench_classify.py --save MODEL.pt``.
"""

import sys
from pathlib import Path

import numpy as np
from _shot import open_viewer, save, scratch_dir, settle

from napari_microstructure._layers import image_layer_kwargs
from napari_microstructure.core.classify.synthetic_set import (
    KNOWN_CLASSES,
    synthetic_image,
    synthetic_samples,
    write_class_folder,
)
from napari_microstructure.widgets.classify import ClassifyWidget
from napari_microstructure.widgets.scale import show_scale_bar


def model_path() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    from napari_microstructure.core.classify import TrainConfig, train_classifier
    from napari_microstructure.core.progress import run_to_end

    path = scratch_dir("shot-classify-") / "classify.pt"
    samples = synthetic_samples(KNOWN_CLASSES, 20, seed=1)
    run_to_end(train_classifier(samples, TrainConfig(steps=400))).save(path)
    return path


def wait_for(viewer, condition, timeout_s: float = 600) -> None:
    """Process events until ``condition()`` (the worker may not have started yet)."""
    import time

    end = time.monotonic() + timeout_s
    while not condition() and time.monotonic() < end:
        settle(viewer, 100)
    settle(viewer, 300)


MODEL = model_path()
PS = 0.4

# 1) one image, two structures side by side: bainite (left) and porous (right)
left = synthetic_image("bainite", PS, seed=901, shape=(384, 256))
right = synthetic_image("porous", PS, seed=902, shape=(384, 256))
viewer = open_viewer(1600, 1000)
viewer.add_image(np.concatenate([left, right], 1), **image_layer_kwargs(PS, "two structures"))
widget = ClassifyWidget(viewer)
viewer.window.add_dock_widget(widget, name="Classify", area="right")
widget.model_path = MODEL
widget.classify()
wait_for(viewer, lambda: widget.gradcam_layer is not None)
viewer.layers[-1].visible = False  # Grad-CAM off: show the class map first
show_scale_bar(viewer)
viewer.reset_view()
settle(viewer, 500)
print(save(viewer, "classify_map"))
cmap = widget.class_map_layer  # for the caption: the share of each class on the map
shares = np.bincount(np.asarray(cmap.data).ravel(), minlength=len(cmap.features)) / cmap.data.size
print({c: round(float(f), 3) for c, f in zip(cmap.features["class"], shares, strict=True) if f})

# 2) Grad-CAM of martensite, and a folder classified into the table
viewer = open_viewer(1600, 1000)
img = synthetic_image("martensite", PS, seed=903, shape=(512, 512))
viewer.add_image(img, **image_layer_kwargs(PS, "martensite?"))
widget = ClassifyWidget(viewer)
viewer.window.add_dock_widget(widget, name="Classify", area="right")
widget.model_path = MODEL
widget.set_options(class_map=False, gradcam=True)
widget.classify()
wait_for(viewer, lambda: widget.gradcam_layer is not None)
folder = scratch_dir("shot-classify-")
write_class_folder(folder, synthetic_samples(["martensite", "bainite", "dendritic"], 2, seed=7))
widget.folder = folder
widget.classify_folder()
wait_for(viewer, lambda: widget.folder_result is not None)
show_scale_bar(viewer)
viewer.reset_view()
settle(viewer, 500)
print(save(viewer, "classify_gradcam"))
print(widget.folder_result[["file", "predicted"]].to_string(index=False))
