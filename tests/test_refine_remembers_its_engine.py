"""The Refine dock stores the grain engine it runs with, so the saved pipeline and `batch`
segment grains as the dock did (docs/batch.md), even when no field was ever touched."""

from __future__ import annotations

from napari_microstructure._layers import image_layer_kwargs
from napari_microstructure.core.pipeline import PipelineConfig
from napari_microstructure.core.synthetic import generate
from napari_microstructure.widgets.refine import RefineWidget


def test_segment_all_with_the_default_engine_is_the_pipelines_grain_step(
    make_napari_viewer, settings_home, wait_idle
):
    m = generate("etched", shape=(128, 128), seed=4, grain_size_um=15)
    viewer = make_napari_viewer()
    w = RefineWidget(viewer)
    w.image_layer = viewer.add_image(m.image, **image_layer_kwargs(m.pixel_size, "E"))
    assert PipelineConfig.from_settings().grains is None  # nothing run yet
    w.segment_all()
    wait_idle(w)
    assert w.labels_layer.data.max() > 5
    grains = PipelineConfig.from_settings().grains  # None before: no field had changed
    assert grains is not None and grains["engine"] == "classical"


def test_a_click_stores_the_engine_too(make_napari_viewer, settings_home, wait_idle):
    m = generate("etched", shape=(96, 96), seed=5, grain_size_um=15)
    viewer = make_napari_viewer()
    w = RefineWidget(viewer)
    w.image_layer = viewer.add_image(m.image, **image_layer_kwargs(m.pixel_size, "E"))
    w.add_click(48, 48)
    wait_idle(w)
    assert PipelineConfig.from_settings().grains["engine"] == "classical"
