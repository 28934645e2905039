"""Command line (review 28): a pipeline file that is not UTF-8 text is a one-line error (a
UnicodeDecodeError traceback, exit 1, which means "an image failed"), and rank's ood weight
without --reference is refused (it was dropped with no word)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_microstructure.cli import main
from napari_microstructure.core.atomic import atomic_write_tiff


@pytest.mark.parametrize(
    "content", [b"pixel_size: 0.25  # \xb5m/px\nversion: 1\n", b"II*\x00\xff"]
)
def test_batch_refuses_a_pipeline_file_that_is_not_utf8_text(tmp_path, capsys, content):
    (tmp_path / "in").mkdir()
    atomic_write_tiff(tmp_path / "in" / "a.tif", np.zeros((40, 40), np.uint8), pixel_size=0.5)
    (tmp_path / "pipeline.yaml").write_bytes(content)
    rc = main(
        [
            "batch",
            str(tmp_path / "in"),
            "--out",
            str(tmp_path / "out"),
            "--config",
            str(tmp_path / "pipeline.yaml"),
            "--workers",
            "1",
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "not a UTF-8 text pipeline file" in err and "Traceback" not in err


def test_rank_refuses_an_ood_weight_without_a_reference(tmp_path, capsys):
    (tmp_path / "pool").mkdir()
    atomic_write_tiff(tmp_path / "pool" / "a.tif", np.zeros((40, 40), np.uint8), pixel_size=0.5)
    assert main(["rank", str(tmp_path / "pool"), "--weight", "ood=5"]) == 2
    assert "--weight ood=W needs --reference" in capsys.readouterr().err


def test_a_grain_label_image_as_phase_mask_and_one_class_say_what_to_do():
    # (first-use review: "phase class indices must be between 0 and 254" named neither the
    # values nor the way out; Classify showed a Python list, "got ['ferrite']")
    from napari_microstructure.core.classify import TrainConfig, train_classifier
    from napari_microstructure.core.classify.dataset import Sample
    from napari_microstructure.core.progress import run_to_end
    from napari_microstructure.core.segment.data import mask_to_classes

    grains = np.arange(400, dtype=np.int32).reshape(20, 20)
    with pytest.raises(ValueError, match=r"got 0 to 399: .*'boundaries' task"):
        mask_to_classes(grains, "phases")
    one = [Sample(np.zeros((64, 64), np.uint8), "ferrite", 0.5)]
    with pytest.raises(ValueError, match=r"got only: ferrite$"):
        run_to_end(train_classifier(one, TrainConfig(steps=1)))
