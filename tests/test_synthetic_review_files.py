"""Synthetic files: ``synth`` never mixes two sets in one folder, and the shipped sample truth
is what its files measure."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_microstructure.cli import main
from napari_microstructure.core.progress import run_to_end
from napari_microstructure.core.synthetic.dataset import write_dataset
from napari_microstructure.core.synthetic.micrograph import objects_from_instances
from napari_microstructure.core.synthetic.truth import grain_statistics, phase_fractions

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample_data"
SMALL = ["--size", "96", "96"]


def _images(folder: Path) -> dict[str, list[str]]:
    return {s: sorted(p.name for p in (folder / "images" / s).iterdir()) for s in ("train", "val")}


def test_synth_into_a_used_folder_is_refused_and_overwrite_replaces_the_set(tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["synth", str(out), "--n", "10", "--seed", "1", *SMALL]) == 0
    first = (out / "truth" / "defects_00001.json").read_bytes()
    # the reported case: a second run left 8 train + 3 val images, one in both splits
    assert main(["synth", str(out), "--n", "4", "--seed", "2", *SMALL]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "truth" / "defects_00001.json").read_bytes() == first  # nothing touched
    assert main(["synth", str(out), "--n", "4", "--seed", "2", *SMALL, "--overwrite"]) == 0
    index = json.loads((out / "index.json").read_text())
    on_disk = _images(out)
    assert len(index) == 4 and len(on_disk["train"]) + len(on_disk["val"]) == 4
    assert not set(on_disk["train"]) & set(on_disk["val"])
    assert {f"{e['stem']}.png" for e in index if e["split"] == "val"} == set(on_disk["val"])
    assert len(list((out / "truth").iterdir())) == 4
    assert len(list((out / "masks").iterdir())) == 12


def test_overwrite_keeps_files_synth_did_not_write_and_refuses_to_mix_them(tmp_path, capsys):
    out = tmp_path / "ds"
    assert main(["synth", str(out), "--n", "3", *SMALL]) == 0
    (out / "notes.txt").write_text("mine")
    (out / "labels" / "train.cache").write_text("an ultralytics cache")
    assert main(["synth", str(out), "--n", "2", "--seed", "5", *SMALL, "--overwrite"]) == 0
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "labels" / "train.cache").exists()
    # a file in the set's own folders would join the new set: refused, nothing removed
    (out / "images" / "train" / "mine.png").write_bytes(b"png")
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    assert main(["synth", str(out), "--n", "2", *SMALL, "--overwrite"]) == 2
    assert "images/train/mine.png" in capsys.readouterr().err
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


def test_a_folder_synth_did_not_write_is_never_cleared(tmp_path, capsys):
    out = tmp_path / "photos"
    out.mkdir()
    (out / "a.tif").write_bytes(b"x")
    for extra in ([], ["--overwrite"]):
        assert main(["synth", str(out), "--n", "1", *SMALL, *extra]) == 2
        assert "new or empty folder" in capsys.readouterr().err
    assert [p.name for p in out.iterdir()] == ["a.tif"]
    # an index.json that would point outside the folder is not a synth index
    (out / "index.json").write_text(json.dumps([{"stem": "../a", "split": "train"}]))
    assert main(["synth", str(out), "--n", "1", *SMALL, "--overwrite"]) == 2
    assert (out / "a.tif").exists()


def test_bad_parameters_are_refused_before_the_folder_is_touched(tmp_path):
    out = tmp_path / "ds"
    gen = write_dataset(out, 2, shape=(96, 96), params={"n_pores": -2})
    with pytest.raises(ValueError, match="n_pores=-2"):
        run_to_end(gen)
    assert not out.exists()
    # an empty folder (or one holding only empty folders) is fine
    (out / "images").mkdir(parents=True)
    summary = run_to_end(write_dataset(out, 2, shape=(96, 96)))
    assert summary["n_images"] == 2 and summary["removed_previous"] == 0


# --- shipped sample data -----------------------------------------------------------------


def _same(a, b, where: str = "") -> list[str]:
    """Differences between two JSON values (floats to 1e-9 relative)."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(set(a) | set(b))
        return [d for k in keys for d in _same(a.get(k), b.get(k), f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in _same(x, y, where)]
    if isinstance(a, float) or isinstance(b, float):
        ok = a is not None and b is not None and a == pytest.approx(b, rel=1e-9)
        return [] if ok else [f"{where}: {a} != {b}"]
    return [] if a == b else [f"{where}: {a} != {b}"]


@pytest.mark.parametrize("name", ["etched", "tint", "defects", "two_phase"])
def test_shipped_truth_json_is_what_the_shipped_labels_measure(name):
    rec = json.loads((SAMPLE_DIR / f"{name}_truth.json").read_text())
    labels = tifffile.imread(SAMPLE_DIR / rec["truth_labels"]["file"])
    layer, ps = rec["truth_labels"]["layer"], rec["pixel_size_um"]
    if layer == "grains":
        measured = grain_statistics(labels.astype(np.uint32), ps)
        assert _same({k: rec[k] for k in measured}, measured) == []
    elif layer == "phases":
        assert _same(rec["phase_fractions"], phase_fractions(labels, rec["phase_names"])) == []
    else:
        classes = {o["id"]: o["cls"] for o in rec["objects"]}
        found = objects_from_instances(labels.astype(np.uint32), classes)
        assert [o["bbox"] for o in rec["objects"]] == [list(o["bbox"]) for o in found]


@pytest.mark.parametrize("name", ["etched", "tint", "defects", "two_phase"])
def test_shipped_truth_json_is_what_make_samples_writes_today(name):
    from napari_microstructure.core.synthetic.dataset import truth_record
    from napari_microstructure.core.synthetic.samples import sample

    rec = json.loads((SAMPLE_DIR / f"{name}_truth.json").read_text())
    fresh = json.loads(json.dumps(truth_record(sample(name), f"{name}.tif")))
    rec.pop("truth_labels")
    assert _same(rec, fresh) == []
