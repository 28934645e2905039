"""Write the plugin's sample micrographs as small calibrated TIFF files with their truth.

Run from the repository root::

    .venv/bin/python sample_data/make_samples.py

For each sample in ``napari_microstructure.core.synthetic.samples.SAMPLES`` it writes
``<name>.tif`` (the micrograph; pixel size in the TIFF resolution tags and ImageJ metadata,
unit micron), ``<name>_truth.tif`` (uint16 labels, marked as labels so that the plugin opens
them as a Labels layer: grains, or object instances for "defects", or phases for "two_phase")
and ``<name>_truth.json`` (pixel size, grain count, mean lineal
intercept, ASTM E112 G, phase fractions, object boxes). The same command gives the same files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import tifffile

from napari_microstructure.core.atomic import atomic_write_tiff
from napari_microstructure.core.synthetic.dataset import truth_record
from napari_microstructure.core.synthetic.samples import SAMPLES, sample

TRUTH_LAYER = {"etched": "grains", "tint": "grains", "defects": "defects", "two_phase": "phases"}


def write_sample(name: str, outdir: Path) -> list[Path]:
    """Write one sample's image, truth labels and truth JSON; return the paths."""
    m = sample(name)
    ps = m.pixel_size
    calib = {
        "resolution": (1.0 / ps, 1.0 / ps),
        "metadata": {"unit": "micron"},
        "imagej": True,
        "compression": "zlib",
    }
    image_path = outdir / f"{name}.tif"
    tifffile.imwrite(
        image_path, m.image, photometric="rgb" if m.image.ndim == 3 else "minisblack", **calib
    )
    layer = TRUTH_LAYER[name]
    labels = getattr(m, layer)
    if int(labels.max()) >= 2**16:
        raise ValueError(f"{name}: too many labels for uint16")
    truth_path = outdir / f"{name}_truth.tif"
    # marked as labels: napari-microstructure opens it as a Labels layer (Measure takes it)
    atomic_write_tiff(truth_path, labels.astype(np.uint16), pixel_size=ps, labels=True)
    rec = truth_record(m, image_path.name)
    rec["truth_labels"] = {"file": truth_path.name, "layer": layer}
    json_path = outdir / f"{name}_truth.json"
    json_path.write_text(json.dumps(rec, indent=1))
    return [image_path, truth_path, json_path]


def main(argv: list[str] | None = None) -> int:
    outdir = Path(argv[0]) if argv else Path(__file__).resolve().parent
    outdir.mkdir(parents=True, exist_ok=True)
    for name in SAMPLES:
        for path in write_sample(name, outdir):
            print(f"{path}  {path.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
