"""Screenshots for docs/refine.md: click prompts, segment-all grains, the learned map on tint."""

from _shot import open_viewer, save, settle, wait_worker
from scipy import ndimage as ndi

from napari_microstructure._layers import image_layer_kwargs
from napari_microstructure.core.synthetic import generate
from napari_microstructure.widgets.refine import RefineWidget
from napari_microstructure.widgets.scale import show_scale_bar


def centre(grains, gid):
    d = ndi.distance_transform_edt(grains == gid)
    return divmod(int(d.argmax()), grains.shape[1])


def docked(micrograph, name, engine="learned"):
    """A viewer with the micrograph in µm and the Refine dock (the engine for grains)."""
    viewer = open_viewer(1500, 950)
    viewer.add_image(micrograph.image, **image_layer_kwargs(micrograph.pixel_size, name))
    widget = RefineWidget(viewer)
    widget.engine_name = engine
    viewer.window.add_dock_widget(widget, name="Refine", area="right")
    return viewer, widget


def segment_all(viewer, widget):
    """Segment all grains and wait until the objects layer holds them."""
    widget.segment_all()
    settle(viewer, 500)
    wait_worker(widget)
    while not len(widget.labels_layer.features):
        settle(viewer, 200)


sample = generate("etched", shape=(640, 900), pixel_size=0.5, seed=7, grain_size_um=14)

# 1. clicks: grains outlined with one click each
viewer, widget = docked(sample, "etched (synthetic)")
widget.prepare()
while not widget.ready:  # the worker may not have started yet when first asked
    settle(viewer, 200)
ids = [int(g) for g in sorted(set(sample.grains[200:440, 300:600].ravel()))[:8]]
for gid in ids:
    r, c = centre(sample.grains, gid)
    widget.add_click(r, c)
    widget.new_object()
show_scale_bar(viewer)
viewer.reset_view()
settle(viewer, 800)
print(save(viewer, "refine_clicks"))

# 2. segment all grains with the built-in engine
viewer, widget = docked(sample, "etched (synthetic)")
segment_all(viewer, widget)
widget.labels_layer.opacity = 0.45
show_scale_bar(viewer)
viewer.reset_view()
settle(viewer, 800)
print(save(viewer, "refine_segment_all"))

# 3. segment all grains of a tint-etched image with the learned boundary map
tint = generate("tint", shape=(640, 900), pixel_size=0.5, seed=3)
viewer, widget = docked(tint, "tint-etched (synthetic)")
widget.engine_name = "learned"
segment_all(viewer, widget)
widget.labels_layer.contour = 2
show_scale_bar(viewer)
viewer.reset_view()
viewer.camera.zoom *= 2.2  # the middle of the field, where single grains can be judged
settle(viewer, 800)
print(save(viewer, "refine_learned_tint"), int(tint.grains.max()), "true grains")
