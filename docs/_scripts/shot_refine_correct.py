"""Screenshot for docs/refine.md: one negative click splits two merged tint-etched grains."""

import numpy as np
from _shot import open_viewer, save, settle

from napari_microstructure._layers import image_layer_kwargs
from napari_microstructure.core.refine.accuracy import grain_centres
from napari_microstructure.core.synthetic import generate
from napari_microstructure.widgets.refine import RefineWidget
from napari_microstructure.widgets.scale import show_scale_bar


def merged_pair(engine, grains):
    """A grain whose first mask covers the centre of the neighbour it takes most pixels from."""
    centres = {i: (r, c) for i, r, c in grain_centres(grains)}
    for i, (r, c) in centres.items():
        mask = engine.predict(np.array([[r, c]]), np.array([1]))[0][0]
        spill = grains[mask & (grains != i)]
        if spill.size < 0.5 * (grains == i).sum():
            continue
        other = centres[int(np.bincount(spill).argmax())]
        if mask[other] and min(r, c, other[0], other[1]) > 60:
            return (r, c), other
    raise RuntimeError("no merged pair on this image")


tint = generate("tint", shape=(512, 512), pixel_size=0.5, seed=2)
viewer = open_viewer(1400, 900)
viewer.add_image(tint.image, **image_layer_kwargs(tint.pixel_size, "tint-etched (synthetic)"))
widget = RefineWidget(viewer)
viewer.window.add_dock_widget(widget, name="Refine", area="right")
widget.engine_name = "learned"
widget.prepare()
while not widget.ready:
    settle(viewer, 200)
keep, cut = merged_pair(widget.engine, tint.grains)
widget.add_click(*keep)  # the first mask takes in the neighbour too ...
settle(viewer, 300)
widget.add_click(*cut, positive=False)  # ... a negative click in the neighbour cuts it off
settle(viewer, 300)
widget.labels_layer.opacity = 0.55
show_scale_bar(viewer)
viewer.layers.selection.active = widget.prompts_layer
viewer.camera.center = (
    0.5 * (keep[0] + cut[0]) * tint.pixel_size,
    0.5 * (keep[1] + cut[1]) * tint.pixel_size,
)
viewer.camera.zoom = 6.0
settle(viewer, 800)
print(save(viewer, "refine_negative_click"), keep, cut)
