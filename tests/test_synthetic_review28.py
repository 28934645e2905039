"""Review 28 of the synthetic generator and ``synth``: default sizes drawn in µm, the pixel size
in every written file, a data.yaml any folder name survives and that always trains, and
arguments refused with a message naming them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from napari_microstructure.cli import main
from napari_microstructure.core.imageio import read_micrograph
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.synthetic import generate
from napari_microstructure.core.synthetic.dataset import write_dataset

GRAIN_KINDS = ["etched", "tint", "bimodal", "ferrite_pearlite"]
SMALL = ["--size", "96", "96"]


def _intercept_px(kind: str, ps: float, seed: int) -> float:
    m = generate(kind, (256, 256), ps, seed=seed, scale_bar=False)
    return m.truth["mean_intercept_um"] / ps


# --- 1: default sizes are drawn in µm ---------------------------------------------------------


@pytest.mark.parametrize("kind", GRAIN_KINDS)
def test_default_grain_size_is_drawn_in_um(kind):
    # the reported case: etched at 0.25 µm/px was pixel for pixel the image at 0.5 µm/px
    a = generate(kind, (256, 256), 0.25, seed=3)
    b = generate(kind, (256, 256), 0.5, seed=3)
    assert not np.array_equal(a.image, b.image)
    # half the pixel size: grains twice as many pixels across (the same draws, in µm)
    ratios = [_intercept_px(kind, 0.25, s) / _intercept_px(kind, 0.5, s) for s in range(4)]
    assert 1.7 < float(np.median(ratios)) < 2.5, ratios


def test_default_precipitate_size_is_drawn_in_um():
    def coarse_area(ps: float, seed: int) -> float:
        m = generate("precipitates", (256, 256), ps, seed=seed, scale_bar=False)
        areas = np.bincount(m.defects[m.phases == 1].ravel())[1:]
        return float(areas[areas > 0].mean())

    ratios = [coarse_area(0.25, s) / coarse_area(0.5, s) for s in range(3)]
    assert min(ratios) > 2.5, ratios  # about 4: twice as wide, four times the area


def test_at_the_default_pixel_size_the_draws_are_the_pixel_ranges_of_before():
    from napari_microstructure.core.synthetic import phases, polycrystal
    from napari_microstructure.core.synthetic.registry import REFERENCE_PIXEL_SIZE, size_px

    assert REFERENCE_PIXEL_SIZE == 0.5
    # the µm ranges and the pixel ranges every image at 0.5 µm/px was drawn with so far
    ranges = [
        (polycrystal._ETCHED_UM, (14.0, 40.0)),
        (polycrystal._TINT_UM, (18.0, 44.0)),
        (polycrystal._BIMODAL_FINE_UM, (14.0, 26.0)),
        (phases._FERRITE_UM, (16.0, 40.0)),
        (phases._PARTICLE_UM, (25.0, 55.0)),
    ]
    for um, px in ranges:
        for seed in range(200):
            for shape in ((32, 32), (512, 512)):  # never clamped at 0.5 µm/px
                new = size_px(np.random.default_rng(seed), 0.5, shape, None, um)
                assert new == np.random.default_rng(seed).uniform(*px), (um, seed)


def test_drawn_sizes_are_clamped_to_what_the_registry_allows():
    from napari_microstructure.core.synthetic.registry import MIN_GRAIN_PX, size_px

    rng = np.random.default_rng(0)
    assert size_px(rng, 100.0, (256, 256), None, (7.0, 20.0)) == MIN_GRAIN_PX
    assert size_px(rng, 1e-4, (256, 300), None, (7.0, 20.0)) == 300.0
    # a small image keeps the range's top at 0.5 µm/px (40 px), as before
    assert size_px(rng, 1e-4, (32, 32), None, (7.0, 20.0)) == 40.0
    for kind in (*GRAIN_KINDS, "precipitates"):
        for ps in (1e-3, 50.0):  # the extremes draw quickly and fill the image
            m = generate(kind, (128, 128), ps, seed=1, scale_bar=False)
            assert m.grains.shape == (128, 128) and m.grains.min() >= 1


# --- 2: the pixel size is in every written file -----------------------------------------------


def test_synth_files_carry_the_pixel_size(tmp_path):
    out = tmp_path / "ds"
    args = ["synth", str(out), "--n", "2", "--kind", "etched", "--pixel-size", "0.25", *SMALL]
    assert main(args) == 0
    stems = [e["stem"] for e in json.loads((out / "index.json").read_text())]
    files = [*(out / "images").rglob("*.png"), *(out / "boundaries").glob("*.png")]
    files += [out / "masks" / f"{s}_{layer}.tif" for s in stems for layer in ("grains", "phases")]
    assert len(files) == 2 + 2 + 4
    for path in files:
        mf = read_micrograph(path)
        assert mf.pixel_size == pytest.approx(0.25, rel=1e-6), path
    assert yaml.safe_load((out / "data.yaml").read_text())["pixel_size_um"] == 0.25
    # and the mask measures in µm
    assert main(["measure", str(out / "masks" / f"{stems[0]}_grains.tif"), "--json"]) == 0


# --- 3: data.yaml loads whatever the folder is called -----------------------------------------


@pytest.mark.parametrize("name", ["set #2", "a: b", 'x\'y "z" [1]'])
def test_data_yaml_loads_for_any_folder_name(tmp_path, name):
    out = tmp_path / name
    run_to_end(write_dataset(out, 2, kinds=("etched",), shape=(64, 64)))
    doc = yaml.safe_load((out / "data.yaml").read_text(encoding="utf-8"))
    assert doc["path"] == str(out.resolve())
    assert doc["train"] == "images/train" and doc["val"] == "images/val"
    assert doc["names"][0] == "inclusion"


# --- 4: a set without a validation image still trains -----------------------------------------


NO_VAL = [["--n", "1"], ["--n", "3", "--val-fraction", "0"], ["--n", "1", "--val-fraction", "0.5"]]


@pytest.mark.parametrize("extra", NO_VAL)
def test_a_set_without_validation_images_points_val_at_train(tmp_path, capsys, caplog, extra):
    out = tmp_path / "ds"
    assert main(["synth", str(out), *extra, *SMALL]) == 0
    summary = json.loads(capsys.readouterr().out)
    doc = yaml.safe_load((out / "data.yaml").read_text())
    assert summary["n_val"] == 0 and doc["val"] == "images/train"
    assert any((out / doc["path"] / doc["val"]).glob("*.png"))  # ultralytics finds images
    assert "no validation image" in summary["note"] and "--val-fraction" in caplog.text


def test_a_set_with_validation_images_keeps_images_val(tmp_path):
    summary = run_to_end(write_dataset(tmp_path / "ds", 2, shape=(64, 64)))
    doc = yaml.safe_load((tmp_path / "ds" / "data.yaml").read_text())
    assert summary["n_val"] == 1 and doc["val"] == "images/val" and "note" not in summary


# --- 5: arguments refused with messages that name them ----------------------------------------


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("defects", "n_pores"),
        ("etched", "grain_size_um"),
        ("etched", "twins"),
        ("etched", "scratches"),
        ("precipitates", "particle_size_um"),
    ],
)
def test_true_is_not_a_number(kind, name):
    with pytest.raises(ValueError, match=f"{name}=True is not a number"):
        generate(kind, (64, 64), seed=1, **{name: True})
    with pytest.raises(ValueError, match=rf"{name}=(np\.)?True_? is not a number"):
        generate(kind, (64, 64), seed=1, **{name: np.bool_(True)})


def test_false_is_not_a_number_either():
    for name in ("twins", "scratches", "grain_size_um"):
        with pytest.raises(ValueError, match=f"{name}=False is not a number"):
            generate("etched", (96, 96), seed=2, **{name: False})
    with pytest.raises(ValueError, match="area_fraction=False is not a number"):
        generate("precipitates", (96, 96), seed=2, area_fraction=False)  # (0, 0.9)


def test_synth_set_true_for_a_count_is_refused(tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["synth", str(out), "--n", "2", *SMALL, "--set", "n_pores=true"]) == 2
    assert "n_pores=True is not a number" in capsys.readouterr().err
    assert not out.exists() or not any(out.rglob("*.*"))


@pytest.mark.parametrize("seed", ["-1", "1.5", "x"])
def test_synth_names_seed_when_refusing_it(tmp_path, capsys, seed):
    assert main(["synth", str(tmp_path / "ds"), "--seed", seed, *SMALL]) == 2
    err = capsys.readouterr().err
    assert "--seed" in err and "at least 0" in err
    assert not (tmp_path / "ds").exists()


@pytest.mark.parametrize("seed", [1.5, -1, True, "3", [1, 2]])
def test_generate_refuses_a_seed_that_is_not_a_whole_number(seed):
    with pytest.raises(ValueError, match="seed must be a whole number"):
        generate("etched", (64, 64), seed=seed)
    with pytest.raises(ValueError, match="seed must be a whole number"):
        run_to_end(write_dataset("unused", 1, seed=seed))


def test_numpy_seeds_are_the_same_seed():
    a = generate("etched", (64, 64), seed=np.uint32(7))
    b = generate("etched", (64, 64), seed=7)
    np.testing.assert_array_equal(a.image, b.image)
    assert type(a.truth["seed"]) is int and json.dumps(a.truth["seed"]) == "7"


@pytest.mark.parametrize("shape", [(64, 512), (512, 95), (32, 32)])
def test_a_forced_scale_bar_on_a_small_image_is_refused(shape):
    with pytest.raises(ValueError, match="scale_bar=True needs an image at least 96 px"):
        generate("etched", shape, seed=1, scale_bar=True)


def test_a_forced_scale_bar_is_drawn_from_96_px_and_small_images_draw_without():
    m = generate("etched", (96, 96), seed=1, scale_bar=True)
    assert m.truth["artefacts"]["scale_bar_um"] is not None
    for bar in (False, None):  # not forced: fine on any size
        generate("etched", (64, 512), seed=1, scale_bar=bar)


def test_synth_refuses_a_forced_scale_bar_before_writing(tmp_path, capsys):
    out = tmp_path / "ds"
    args = ["synth", str(out), "--size", "64", "512", "--set", "scale_bar=true"]
    assert main(args) == 2
    assert "96 px" in capsys.readouterr().err and not out.exists()


def test_pixels_too_fine_for_a_png_density_are_written_without_one(tmp_path):
    # (review of this session: 0.0002 µm/px overflowed PNG's 32-bit pHYs field, a traceback)
    from napari_microstructure.core.synthetic.dataset import write_png

    image = np.zeros((8, 8), np.uint8)
    write_png(tmp_path / "fine.png", image, 0.0002)
    write_png(tmp_path / "ok.png", image, 0.25)
    from PIL import Image

    with Image.open(tmp_path / "fine.png") as fine, Image.open(tmp_path / "ok.png") as ok:
        assert "dpi" not in fine.info and round(ok.info["dpi"][0]) == 101600
