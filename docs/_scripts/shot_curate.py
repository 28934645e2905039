"""Screenshot for docs/curate.md: a project image being corrected, the ranked queue beside it."""

import numpy as np
from _shot import open_viewer, save, scratch_dir, settle, wait_worker
from skimage.io import imsave

from napari_microstructure._layers import image_layer_kwargs
from napari_microstructure.core.synthetic import DEFECT_CLASSES, generate
from napari_microstructure.widgets.curate import CurateWidget
from napari_microstructure.widgets.scale import show_scale_bar

work = scratch_dir("shot-curate-")
unlabelled = work / "unlabelled"
unlabelled.mkdir()
for seed in range(6):  # a folder of new micrographs to rank
    m = generate("defects", shape=(384, 384), pixel_size=0.5, seed=7000 + seed)
    imsave(unlabelled / f"field_{seed + 1:02d}.png", m.image, check_contrast=False)

sample = generate("defects", shape=(512, 512), pixel_size=0.5, seed=2024)
viewer = open_viewer(1500, 1000)
image = viewer.add_image(sample.image, **image_layer_kwargs(0.5, "inclusions (synthetic)"))
proposals = viewer.add_labels(sample.defects.astype(np.uint32), name="proposals", scale=(0.5, 0.5))
widget = CurateWidget(viewer)
viewer.window.add_dock_widget(widget, name="Curate", area="right")
widget._classes.value = ", ".join(DEFECT_CLASSES)
widget.open_project(work / "project")
widget._instances_from.value = proposals
image_id = widget.add_image(image)
viewer.layers.remove(proposals)
labels = widget.layers_of(image_id)["instances"]
labels.brush_size = 8
labels.paint((120, 300), int(labels.data.max()) + 1)  # a correction with napari's brush
labels.mode = "paint"
widget.flush()
widget.queue_panel._folder.value = unlabelled
widget.queue_panel.rank(unlabelled)
while widget.queue_panel.queue.empty:  # the worker may not have started when first asked
    settle(viewer, 200)
wait_worker(widget)
show_scale_bar(viewer)
viewer.reset_view()
settle(viewer, 800)
print(save(viewer, "curate"))
