"""Screenshot for docs/measure.md: the Measure dock after measuring a synthetic grain structure."""

from _shot import open_viewer, save, settle

from napari_microstructure._layers import image_layer_kwargs
from napari_microstructure.core.synthetic import generate
from napari_microstructure.widgets.measure import MeasureWidget
from napari_microstructure.widgets.scale import show_scale_bar

sample = generate("etched", shape=(768, 1024), pixel_size=0.5, seed=2024)
viewer = open_viewer(1500, 1000)
viewer.add_image(sample.image, **image_layer_kwargs(sample.pixel_size, "etched (synthetic)"))
grains = viewer.add_labels(
    sample.grains, **image_layer_kwargs(sample.pixel_size, "grains", opacity=0.6)
)
widget = MeasureWidget(viewer)
viewer.window.add_dock_widget(widget, name="Measure", area="right")
widget.labels_layer = grains
widget.run()
while widget.summary is None:  # the worker may not have started yet when first asked
    settle(viewer, 200)
widget.colour_by = "area"
widget.select_row(10)
grains.show_selected_label = False
show_scale_bar(viewer)
viewer.reset_view()
settle(viewer, 800)
print(save(viewer, "measure"))
