"""`napari-microstructure train` says when its validation metrics are not on held-out objects."""

from __future__ import annotations

from napari_microstructure.cli.train import _held_out, _note


def _held_out_note(data: str) -> str:
    return _note(_held_out(data))


def _dataset(root, train, val, val_objects=1):
    for split, names in (("train", train), ("val", val)):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for name in names:
            (root / "images" / split / f"{name}.png").write_bytes(b"")
            lines = "0 0.5 0.5 0.1 0.1\n" * val_objects if split == "val" else ""
            (root / "labels" / split / f"{name}.txt").write_text(lines)
    (root / "data.yaml").write_text("path: .\n")
    return root / "data.yaml"


def test_one_image_in_both_splits_is_not_held_out(tmp_path):
    note = _held_out_note(str(_dataset(tmp_path, ["a"], ["a"])))
    assert note == "no held-out image: metrics on the training image"


def test_held_out_images_without_objects_are_said(tmp_path):
    data = _dataset(tmp_path, ["a"], ["b"], val_objects=0)
    assert _held_out_note(str(data)) == "held-out images have no objects"


def test_a_real_held_out_split_and_another_layout_say_nothing(tmp_path):
    assert _held_out_note(str(_dataset(tmp_path / "x", ["a"], ["b"]))) == ""
    (tmp_path / "y").mkdir()
    (tmp_path / "y" / "data.yaml").write_text("train: /elsewhere\n")
    assert _held_out_note(str(tmp_path / "y" / "data.yaml")) == ""
