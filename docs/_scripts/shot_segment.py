"""Screenshots for docs/segment.md: scribbles teaching the pixel classifier; a U-Net prediction.

Usage: ``python docs/_scripts/shot_segment.py [MODEL.pt]``. Without a model a small U-Net is
trained on synthetic ferrite-pearlite images first (about a minute on a CPU).
"""

import sys
import tempfile
from pathlib import Path

import numpy as np
from _shot import open_viewer, save, settle
from qtpy.QtCore import QCoreApplication
from scipy import ndimage

from napari_microstructure._layers import image_layer_kwargs
from napari_microstructure.core.synthetic import generate
from napari_microstructure.widgets.scale import show_scale_bar
from napari_microstructure.widgets.segment import SegmentWidget

PS = 0.5
TMP = tempfile.TemporaryDirectory()  # the model trained for the shot; removed at exit


def wait(worker) -> None:
    done = []
    worker.finished.connect(lambda: done.append(True))
    while not done:
        QCoreApplication.processEvents()


def strokes(phases: np.ndarray, n: int = 5, seed: int = 0) -> np.ndarray:
    """A few short strokes inside each phase, as painted by hand."""
    rng = np.random.default_rng(seed)
    out = np.zeros(phases.shape, np.uint8)
    for cls in np.unique(phases):
        inside = ndimage.binary_erosion(phases == cls, iterations=6)
        rows, cols = np.nonzero(inside)
        for i in rng.choice(len(rows), size=min(n, len(rows)), replace=False):
            r, c = rows[i], cols[i]
            for d in range(-3, 4):
                seg = slice(max(0, c - 14), c + 14)
                rr = min(max(r + d, 0), phases.shape[0] - 1)
                out[rr, seg] = np.where(inside[rr, seg], cls + 1, out[rr, seg])
    return out


def model_path() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    from napari_microstructure.core.progress import run_to_end
    from napari_microstructure.core.segment import TrainConfig, synthetic_pairs, train_model

    pairs = synthetic_pairs("phases", n=6, shape=(128, 128), kinds=("ferrite_pearlite",), seed=40)
    cfg = TrainConfig(
        task="phases",
        classes=["ferrite", "pearlite"],
        epochs=4,
        steps_per_epoch=6,
        batch_size=4,
        crop=64,
        base=8,
        depth=2,
        pixel_size=PS,
    )
    path = Path(TMP.name) / "ferrite_pearlite.pt"
    run_to_end(train_model(pairs, cfg)).save(path)
    return path


# 1) scribbles -> pixel classes and confidence
m = generate("ferrite_pearlite", shape=(384, 384), pixel_size=PS, seed=7)
viewer = open_viewer()
image = viewer.add_image(m.image, **image_layer_kwargs(PS, "ferrite-pearlite"))
widget = SegmentWidget(viewer)
viewer.window.add_dock_widget(widget, name="Segment", area="right")
widget.image_layer = image
layer = widget.add_scribbles_layer()
layer.data = strokes(m.phases)
worker = widget.predict_scribbles()
wait(worker)
viewer.layers.move(viewer.layers.index(layer), len(viewer.layers) - 1)
show_scale_bar(viewer)
viewer.reset_view()
settle(viewer, 500)
print(save(viewer, "segment_scribbles"))

# 2) a trained U-Net on a new image, with its confidence map
model = model_path()
m2 = generate("ferrite_pearlite", shape=(512, 512), pixel_size=PS, seed=8)
viewer = open_viewer()
image = viewer.add_image(m2.image, **image_layer_kwargs(PS, "new micrograph"))
widget = SegmentWidget(viewer)
viewer.window.add_dock_widget(widget, name="Segment", area="right")
widget.image_layer = image
widget.model_path = model
# set for the next round: fine-tune this model on the project's corrected images
widget.source = "annotation project"
widget.project_folder = Path.home() / "annotations" / "ferrite-pearlite"
widget.start = "model file"
wait(widget.predict())
widget.confidence_layer.visible = True
widget.prediction_layer.visible = False
show_scale_bar(viewer)
viewer.reset_view()
settle(viewer, 500)
print(save(viewer, "segment_model"))
