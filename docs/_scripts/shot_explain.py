"""Screenshots for docs/explain.md: EigenCAM, one box explained, the low-confidence map."""

import torch
from _shot import open_viewer, save, settle, wait_worker

from napari_microstructure._layers import detections_layer_kwargs, image_layer_kwargs
from napari_microstructure.core.detect import detect, load_detector
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.synthetic import generate
from napari_microstructure.widgets.explain import ExplainWidget
from napari_microstructure.widgets.scale import show_scale_bar

torch.set_num_threads(1)
sample = generate("defects", shape=(640, 896), pixel_size=0.5, seed=8080, n_scratches=0)
image = sample.image if sample.image.ndim == 2 else sample.image[..., 0]
detections = run_to_end(detect(image, load_detector(None), pixel_size=0.5, conf=0.25))


def scene():
    viewer = open_viewer(1500, 1000)
    viewer.add_image(image, **image_layer_kwargs(0.5, "defects"))
    viewer.add_shapes(**detections_layer_kwargs(detections, 0.5, "defects detections"))
    widget = ExplainWidget(viewer)
    viewer.window.add_dock_widget(widget, name="Explain", area="right")
    show_scale_bar(viewer)
    return viewer, widget


# 1. whole-image EigenCAM, additive inferno over the micrograph
viewer, widget = scene()
widget.explain_image()
wait_worker(widget)
viewer.reset_view()
print(save(viewer, "explain"))

# 2. one box explained (LayerCAM of its class score), boxes coloured by confidence
viewer, widget = scene()
widget.style_boxes()
boxes = widget.detections_layer
best = int(detections["confidence"].to_numpy().argmax())
boxes.mode = "select"
boxes.selected_data = {best}  # selecting a box explains it
wait_worker(widget)
widget.blending = "translucent"
viewer.reset_view()
row = detections.iloc[best]
viewer.camera.center = ((row.y1 + row.y2) / 4, (row.x1 + row.x2) / 4)  # µm at 0.5 µm/px
viewer.camera.zoom *= 3
settle(viewer, 500)
print(save(viewer, "explain_object"))

# 3. where the detector is unsure
viewer, widget = scene()
widget.show_low_confidence()
wait_worker(widget)
viewer.reset_view()
print(save(viewer, "explain_lowconf"))
