"""Training folders (pixel sizes from JSON or TIFF tags) and the train-cls / classify commands."""

from __future__ import annotations

import json

import pytest
import tifffile

from napari_microstructure.cli import main
from napari_microstructure.core.classify import load_folder
from napari_microstructure.core.classify.synthetic_set import synthetic_samples, write_class_folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("cls-folder")
    samples = synthetic_samples(["ferrite_fine", "bainite"], 3, seed=3, shape=(96, 96))
    return write_class_folder(root, samples), samples


def test_load_folder_reads_json_and_tiff_tags(folder, tmp_path):
    root, samples = folder
    loaded = load_folder(root)
    assert sorted((s.name, s.pixel_size) for s in loaded) == sorted(
        (s.name, s.pixel_size) for s in samples
    )
    # a TIFF with resolution tags (px per cm) needs no JSON; a class-folder JSON default works
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    img = samples[0].image
    tifffile.imwrite(
        tmp_path / "a" / "x.tif",
        img,
        resolution=(1e4 / 0.25, 1e4 / 0.25),
        resolutionunit="CENTIMETER",
    )
    (tmp_path / "b" / "y.png").write_bytes((root / samples[-1].name).read_bytes())
    (tmp_path / "b" / "pixel_sizes.json").write_text(json.dumps({"default": 0.7}))
    got = {s.name: s.pixel_size for s in load_folder(tmp_path)}
    assert got == pytest.approx({"a/x.tif": 0.25, "b/y.png": 0.7})


def test_load_folder_errors_name_the_problem(folder, tmp_path):
    root, samples = folder
    (tmp_path / "only").mkdir()
    with pytest.raises(ValueError, match="at least two sub-folders"):
        load_folder(tmp_path)
    (tmp_path / "other").mkdir()
    for sub in ("only", "other"):
        (tmp_path / sub / "z.png").write_bytes((root / samples[0].name).read_bytes())
    with pytest.raises(ValueError, match="no pixel size for 2 image"):
        load_folder(tmp_path)
    assert len(load_folder(tmp_path, default_pixel_size=0.5)) == 2
    (tmp_path / "pixel_sizes.json").write_text('{"only/z.png": "big"}')
    with pytest.raises(ValueError, match="not a number"):
        load_folder(tmp_path)


def test_train_cls_and_classify_json(folder, tmp_path, capsys):
    root, samples = folder
    model = tmp_path / "m.pt"
    rc = main(["train-cls", str(root), "--out", str(model), "--steps", "4", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert rc == 0 and model.is_file()
    assert out["classes"] == ["bainite", "ferrite_fine"]
    assert out["images_per_class"] == {"bainite": 3, "ferrite_fine": 3}
    img = root / samples[0].name
    rc = main(
        [
            "classify",
            str(img),
            str(img),
            "--model",
            str(model),
            "--pixel-size",
            "0.4",
            "--crops",
            "8",
            "--json",
        ]
    )
    res = json.loads(capsys.readouterr().out)
    assert rc == 0 and len(res) == 2
    probs = res[0]["probabilities"]
    assert set(probs) == {"bainite", "ferrite_fine", "none_of_these"}
    assert sum(probs.values()) == pytest.approx(1.0, abs=1e-4)
    assert res[0]["predicted"] in probs and res[0]["pixel_size_um"] == 0.4
    assert res[0]["n_crops"] == 8
    # text output, one line per image
    assert main(["classify", str(img), "--model", str(model), "--crops", "4"]) == 0
    assert capsys.readouterr().out.startswith(str(img))
    # a broken file among others: its error, and the others still classified
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    args = ["classify", str(img), str(broken), str(img), "--model", str(model), "--crops", "4"]
    assert main([*args, "--json"]) == 1
    res = json.loads(capsys.readouterr().out)
    assert [("error" in r) for r in res] == [False, True, False]
    assert res[1]["image"] == str(broken) and "cannot be read" in res[1]["error"]
    assert res[2]["predicted"] in ("bainite", "ferrite_fine", "none_of_these")


def test_cli_errors_are_messages(folder, tmp_path, capsys):
    root, samples = folder
    assert (
        main(["classify", str(root / samples[0].name), "--model", str(tmp_path / "none.pt")]) == 2
    )
    assert "not found" in capsys.readouterr().err
    assert main(["train-cls", str(tmp_path / "missing"), "--out", str(tmp_path / "m.pt")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["train-cls", str(root), "--out", str(tmp_path / "m.pt"), "--steps", "0"]) == 2
    assert "--steps" in capsys.readouterr().err
