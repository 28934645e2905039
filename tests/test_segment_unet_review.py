"""U-Net training from the dock and the command line: boundary lines of any label, outputs
checked before a long training, clear errors for a crop too small for the depth and for a
colour mask."""

from __future__ import annotations

import numpy as np
import pytest
from skimage.io import imsave
from test_segment_cli import _train_seg, folders  # noqa: F401
from test_segment_widget import scene  # noqa: F401

from napari_microstructure.cli import main
from napari_microstructure.core.segment import TrainConfig, load_pairs


@pytest.mark.parametrize("labels", [(2, 2), (1, 3), (1, 255)])
def test_boundary_lines_of_any_label_are_taught(scene, labels):  # noqa: F811
    """Lines painted with labels 2-127 were dropped (> 127 was the rule for mask files), and
    label-1 lines beside lines above 127 silently taught as interior."""
    viewer, widget, m = scene
    marks = np.zeros(m.image.shape[:2], np.uint8)
    marks[:, 30] = labels[0]  # a line on the left
    marks[:, 90] = labels[1]  # one on the right
    widget.annotation_layer = viewer.add_labels(marks, name="lines")
    widget.task = "boundaries"
    (pair,) = widget._layer_pair()
    assert pair.mask.sum() == (marks != 0).sum()
    assert pair.mask[:, 30].all() and pair.mask[:, 90].all()


def test_an_annotation_of_another_size_is_called_the_annotation(scene):  # noqa: F811
    viewer, widget, m = scene
    widget.annotation_layer = viewer.add_labels(np.zeros((100, 128), np.uint8), name="small")
    with pytest.raises(ValueError, match="the annotation layer 'small' is 100x128 pixels"):
        widget._layer_pair()


def test_train_seg_refuses_a_folder_as_out_before_training(folders, tmp_path, capsys):  # noqa: F811
    """It trained to the end, then failed to save (IsADirectoryError) and lost the model."""
    taken = tmp_path / "models"
    taken.mkdir()
    assert _train_seg(folders, taken, "--steps", "2", "--base", "4", "--depth", "2") == 2
    err = capsys.readouterr().err
    assert "is a folder; give the model a file name" in err and "epoch" not in err


def test_segment_refuses_a_file_as_out(folders, tmp_path, capsys):  # noqa: F811
    from napari_microstructure.core.segment import BUILTIN_BOUNDARY_MODEL

    out = tmp_path / "labels.png"
    out.write_bytes(b"x")
    image = str(folders / "images" / "img0.png")
    rc = main(["segment", image, "--model", str(BUILTIN_BOUNDARY_MODEL), "--out", str(out)])
    assert rc == 2
    assert "is a file: give a folder" in capsys.readouterr().err


def test_a_crop_too_small_for_the_depth_is_refused():
    """A torch traceback ("Output size is too small") after the data were read."""
    with pytest.raises(ValueError, match="too small for a depth of 9"):
        TrainConfig(crop=64, depth=9)
    TrainConfig(crop=16, depth=4)  # 16 -> 8 -> 4 -> 2 -> 1: still a pixel


def test_a_colour_mask_is_refused_with_its_file_name(tmp_path):
    (tmp_path / "i").mkdir()
    (tmp_path / "m").mkdir()
    imsave(tmp_path / "i" / "a.png", np.zeros((32, 32), np.uint8), check_contrast=False)
    colour = np.zeros((32, 32, 3), np.uint8)
    colour[..., 0] = 255
    imsave(tmp_path / "m" / "a.png", colour, check_contrast=False)
    with pytest.raises(ValueError, match=r"m/a\.png: a mask must be a single-channel image"):
        load_pairs(tmp_path / "i", tmp_path / "m", "phases")


def test_the_dock_says_when_a_trained_model_went_to_the_cache_folder(tmp_path, monkeypatch):
    """Saving moved to the core (shared with train-seg): a failed save keeps the model."""
    from napari_microstructure.core.segment import new_model
    from napari_microstructure.core.segment.model import save_or_keep

    monkeypatch.setenv("NAPARI_MICROSTRUCTURE_CACHE", str(tmp_path / "cache"))
    model = new_model("phases", ["a", "b"], base=4, depth=2)
    blocked = tmp_path / "file"
    blocked.write_bytes(b"x")
    problem = save_or_keep(model, blocked / "m.pt")  # its folder is a file
    assert problem.startswith(f"could not save the model as {blocked / 'm.pt'}")
    assert model.path is not None and model.path.parent == tmp_path / "cache" / "segment"
