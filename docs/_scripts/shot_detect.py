"""Screenshot for docs/detect.md: the Detect dock after a run on the synthetic defects sample."""

from _shot import open_viewer, save, settle

from napari_microstructure._layers import image_layer_kwargs
from napari_microstructure.core.synthetic import generate
from napari_microstructure.widgets.detect import DetectWidget
from napari_microstructure.widgets.scale import show_scale_bar

sample = generate("defects", shape=(768, 1024), pixel_size=0.5, seed=2024, n_scratches=1)
viewer = open_viewer()
viewer.add_image(sample.image, **image_layer_kwargs(sample.pixel_size, "defects (synthetic)"))
widget = DetectWidget(viewer)
viewer.window.add_dock_widget(widget, name="Detect", area="right")
widget.run()
for _ in range(2400):  # up to ~10 min on a busy machine: the worker delivers a result
    settle(viewer, 250)
    if widget.result is not None and not widget.busy:
        break
widget.show_conf = 0.4
show_scale_bar(viewer)
viewer.reset_view()
settle(viewer, 800)
print(save(viewer, "detect"))
