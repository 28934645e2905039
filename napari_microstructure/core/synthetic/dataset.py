"""Write synthetic micrographs as a training set: YOLO layout plus masks, boundaries and truth.

Layout under ``outdir``::

    images/{train,val}/<stem>.png     the micrographs (grey or RGB)
    labels/{train,val}/<stem>.txt     YOLO boxes: class cx cy w h, normalised
    masks/<stem>_grains.tif           uint32 grain ids
    masks/<stem>_defects.tif          uint32 object instance ids
    masks/<stem>_phases.tif           uint8 phase ids
    boundaries/<stem>.png             8-bit, 255 on grain-boundary lines
    truth/<stem>.json                 pixel size, grain count, mean intercept, ASTM G, boxes ...
    data.yaml                         path, train, val, names, pixel_size_um (ultralytics)
    index.json                        one entry per image: stem, split, kind, seed

The masks are TIFFs marked as labels (:data:`..atomic.LABELS_MARK`), so napari opens the
uint8 phase map as labels too. Every image, mask and boundary file carries the pixel size
(TIFF resolution tags; a PNG's density, pHYs in pixels per metre), so it opens in µm.
A set with no validation image (n=1, or val_fraction 0) points data.yaml's ``val`` at
``images/train`` and says so in the summary's ``note``.

A folder that holds files already is refused, so two sets never mix (an old image left in
``train`` could also sit in ``val``); ``overwrite=True`` first removes the files a previous
run wrote there, as listed by its ``index.json``, and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import atomic_write_bytes, atomic_write_tiff, remove_stale_temps
from ..progress import Progress
from .micrograph import DEFECT_CLASSES, SyntheticMicrograph
from .registry import KINDS, check_arguments, check_seed, generate, kind_parameters

#: The folders of the layout; a file synth did not write in one of them would join the set.
LAYOUT = (
    "images/train",
    "images/val",
    "labels/train",
    "labels/val",
    "masks",
    "boundaries",
    "truth",
)


def image_seed(seed: int, index: int) -> int:
    """Seed of image ``index`` of a dataset drawn with ``seed`` (independent streams)."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0])


def split_indices(n: int, seed: int, val_fraction: float) -> set[int]:
    """Indices of the validation images: a seeded random subset, at least one when n >= 2."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    n_val = int(round(n * val_fraction))
    if val_fraction > 0 and n >= 2:
        n_val = max(n_val, 1)
    order = np.random.default_rng([int(seed), 7919]).permutation(n)
    return {int(i) for i in order[:n_val]}


def write_png(path: Path, image: np.ndarray, pixel_size: float) -> None:
    """Save an 8-bit grey or RGB PNG whose density (pHYs, pixels per metre) is ``pixel_size``
    µm, which :func:`..imageio.read_micrograph` reads back as the pixel size (up to 10 µm/px:
    a coarser density reads as a print setting). Pixels finer than PNG's 32-bit field holds
    (about 0.00024 µm) get no density: their TIFF masks and truth carry the pixel size."""
    from PIL import Image

    dpi = 25_400.0 / pixel_size  # Pillow writes dots per inch as pixels per metre
    fits = round(1e6 / pixel_size) < 2**32
    extra = {"dpi": (dpi, dpi)} if fits else {}
    Image.fromarray(np.ascontiguousarray(image)).save(path, format="PNG", **extra)


def write_data_yaml(out: Path, val_dir: str, pixel_size: float) -> None:
    """``data.yaml`` for ultralytics: safely quoted, so any folder name loads as its path."""
    import yaml

    doc = {
        "path": str(out.resolve()),
        "train": "images/train",
        "val": val_dir,
        "names": dict(enumerate(DEFECT_CLASSES)),
        "pixel_size_um": float(pixel_size),  # what `train` records next to the weights
    }
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    atomic_write_bytes(out / "data.yaml", text.encode("utf-8"))


def yolo_lines(m: SyntheticMicrograph) -> list[str]:
    """YOLO label lines ``class cx cy w h`` (normalised to the image size) of every object."""
    h, w = m.shape
    lines = []
    for o in m.objects:
        x1, y1, x2, y2 = o["bbox"]
        cx, cy = (x1 + x2) / 2 / w, (y1 + y2) / 2 / h
        lines.append(f"{o['class_id']} {cx:.6f} {cy:.6f} {(x2 - x1) / w:.6f} {(y2 - y1) / h:.6f}")
    return lines


def truth_record(m: SyntheticMicrograph, stem: str) -> dict[str, Any]:
    """JSON-ready truth of one image: the generator's truth plus its objects and file name."""
    rec = {"image": stem, **m.truth}
    rec["objects"] = [
        {
            "id": int(o["id"]),
            "cls": o["cls"],
            "class_id": int(o["class_id"]),
            "bbox": [int(v) for v in o["bbox"]],
        }
        for o in m.objects
    ]
    return rec


def write_dataset(
    outdir: str | Path,
    n: int,
    seed: int = 0,
    kinds: Sequence[str] = ("defects",),
    shape: tuple[int, int] = (512, 512),
    pixel_size: float = 0.5,
    val_fraction: float = 0.2,
    params: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Generator[Progress, None, dict[str, Any]]:
    """Draw ``n`` images (kinds taken in turn) and write them; yields progress, returns a summary.

    The same arguments always give the same files. ``outdir`` must be new or empty unless
    ``overwrite`` is True, which replaces a set written there before (see the module notes);
    a non-empty folder is refused with FileExistsError before anything is written or removed.
    Each of ``params`` goes to the kinds that take it; one that no kind takes is refused.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ValueError(f"unknown kind(s) {unknown}; choose from {sorted(KINDS)}")
    params = params or {}
    # a parameter goes to the kinds that take it (n_pores to defects, not to etched); one that
    # no chosen kind takes is a mistake
    taken = {name for kind in kinds for name in kind_parameters(kind)}
    unused = sorted(set(params) - taken)
    if unused:
        raise ValueError(
            f"no chosen kind ({', '.join(dict.fromkeys(kinds))}) has parameter(s) {unused}; "
            f"they take {sorted(taken)}"
        )
    own = {k: {n: v for n, v in params.items() if n in kind_parameters(k)} for k in kinds}
    seed = check_seed(seed)
    if seed is None:
        raise ValueError("seed must be a whole number of at least 0, got None")
    for kind in own:  # every argument checked before the folder is touched
        check_arguments(kind, shape, pixel_size, own[kind])
    val = split_indices(n, seed, val_fraction)
    out = Path(outdir)
    removed = clear_previous(out) if overwrite else _require_empty(out)
    for sub in LAYOUT:
        (out / sub).mkdir(parents=True, exist_ok=True)
    index = [
        {
            "stem": f"{kinds[i % len(kinds)]}_{i:05d}",
            "split": "val" if i in val else "train",
            "kind": kinds[i % len(kinds)],
            "seed": image_seed(seed, i),
        }
        for i in range(n)
    ]
    # written first: a run that stops half way can still be replaced with overwrite=True
    (out / "index.json").write_text(json.dumps(index, indent=1))
    counts: dict[str, int] = {}
    for i, entry in enumerate(index):
        stem, split = entry["stem"], entry["split"]
        m = generate(
            entry["kind"],
            shape=shape,
            pixel_size=pixel_size,
            seed=entry["seed"],
            **own[entry["kind"]],
        )
        write_png(out / "images" / split / f"{stem}.png", m.image, pixel_size)
        (out / "labels" / split / f"{stem}.txt").write_text(
            "".join(f"{x}\n" for x in yolo_lines(m))
        )
        for layer in ("grains", "defects", "phases"):  # marked: napari opens them as labels
            mask = out / "masks" / f"{stem}_{layer}.tif"
            atomic_write_tiff(mask, getattr(m, layer), pixel_size=pixel_size, labels=True)
        write_png(
            out / "boundaries" / f"{stem}.png", (m.boundaries * 255).astype(np.uint8), pixel_size
        )
        rec = truth_record(m, f"images/{split}/{stem}.png")
        (out / "truth" / f"{stem}.json").write_text(json.dumps(rec, indent=1))
        for o in m.objects:
            counts[o["cls"]] = counts.get(o["cls"], 0) + 1
        yield Progress(i + 1, n, f"{stem} ({split})")
    # no validation image: ultralytics needs a val folder with images, so it validates on
    # the training images (refusing would rule out --val-fraction 0 and a one-image try-out)
    val_dir = "images/val" if val else "images/train"
    write_data_yaml(out, val_dir, pixel_size)
    summary: dict[str, Any] = {
        "outdir": str(out.resolve()),
        "n_images": n,
        "n_train": n - len(val),
        "n_val": len(val),
        "kinds": list(kinds),
        "seed": seed,
        "pixel_size_um": pixel_size,
        "shape": list(shape),
        "object_counts": dict(sorted(counts.items())),
        "data_yaml": str((out / "data.yaml").resolve()),
        "removed_previous": removed,
    }
    if not val:
        summary["note"] = (
            "no validation image (--n 1 or --val-fraction 0): data.yaml's val is images/train, "
            "so training scores the training images; for a held-out score use --n 2 or more "
            "and a --val-fraction above 0"
        )
    return summary


def dataset_files(entry: dict[str, Any]) -> list[str]:
    """Paths (relative to the set's folder) of the files written for one ``index.json`` entry."""
    stem, split = entry["stem"], entry["split"]
    return [
        f"images/{split}/{stem}.png",
        f"labels/{split}/{stem}.txt",
        *(f"masks/{stem}_{layer}.tif" for layer in ("grains", "defects", "phases")),
        f"boundaries/{stem}.png",
        f"truth/{stem}.json",
    ]


def _files(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if not p.is_dir())


def _require_empty(out: Path) -> int:
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} is a file, not a folder")
    if out.exists() and _files(out):
        raise FileExistsError(
            f"{out} is not empty; choose a new or empty folder, or pass --overwrite "
            "(overwrite=True) to replace a set synth wrote there (only its files are removed)"
        )
    return 0


def clear_previous(out: Path) -> int:
    """Remove the set a previous :func:`write_dataset` wrote in ``out``; return the file count.

    The files are those its ``index.json`` lists, plus ``index.json``, ``data.yaml`` and the
    temp files of a mask write that a killed run left. Refused (FileExistsError, nothing
    removed) when there is no such index, or when a layout folder holds a file the index does
    not list: it would join the new set.
    """
    if not out.exists() or not _files(out):
        return _require_empty(out)
    entries = _read_index(out / "index.json")
    owned = {"index.json", "data.yaml"}
    for entry in entries:
        owned.update(dataset_files(entry))
    foreign = [
        p.relative_to(out).as_posix()
        for sub in LAYOUT
        if (out / sub).is_dir()
        for p in _files(out / sub)
        if p.relative_to(out).as_posix() not in owned and not _mask_temp(out, p)
    ]
    if foreign:
        raise FileExistsError(
            f"{out} holds {len(foreign)} file(s) in the set's folders that synth did not list "
            f"in its index.json (e.g. {foreign[0]}); they would join the new set. Move them "
            "away or choose another folder; nothing was removed"
        )
    if (out / "masks").is_dir():
        remove_stale_temps(out / "masks")
    removed = 0
    for rel in sorted(owned):
        path = out / rel
        if path.is_file():
            path.unlink()
            removed += 1
    return removed


def _mask_temp(out: Path, path: Path) -> bool:
    """Whether ``path`` is the temp file of a mask write that a killed run left."""
    return path.parent == out / "masks" and path.name.startswith(".") and path.suffix == ".tmp"


def _read_index(path: Path) -> list[dict[str, Any]]:
    """Entries of a synth ``index.json``; FileExistsError if it is missing or not one."""
    folder = path.parent
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError):
        entries = None
    ok = isinstance(entries, list) and all(
        isinstance(e, dict)
        and e.get("split") in ("train", "val")
        and isinstance(e.get("stem"), str)
        and e["stem"] == Path(e["stem"]).name
        and e["stem"] not in ("", ".", "..")
        for e in entries
    )
    if not ok:
        raise FileExistsError(
            f"{folder} is not empty and has no index.json written by synth, so it is not a set "
            "synth can replace; choose a new or empty folder (nothing was removed)"
        )
    return entries
