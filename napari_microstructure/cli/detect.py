"""``napari-microstructure detect IMAGE...``: boxes and per-class counts from a YOLO model."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from ..core.notes import join_notes
from . import CLIError
from ._common import output_stems, pixel_size_arg, print_json, writing

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "detect",
        help="detect inclusions, pores, cracks, precipitates, ... (YOLO, scale-aware, tiled)",
        description="Detect objects with an ultralytics detection model (default: the built-in "
        "demo model). Images are resampled to the model's pixel size when both are known and "
        "tiled when larger than the model input.",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--model", metavar="PT", help="ultralytics detection .pt (default: demo)")
    p.add_argument("--conf", type=float, default=0.25, help="confidence threshold (0.25)")
    p.add_argument("--iou", type=float, default=0.5, help="NMS IoU threshold (0.5)")
    p.add_argument("--max-det", type=int, default=300, help="max detections per image (300)")
    p.add_argument("--agnostic", action="store_true", help="class-agnostic NMS")
    p.add_argument("--classes", nargs="+", metavar="NAME", help="keep only these classes")
    p.add_argument(
        "--pixel-size",
        type=pixel_size_arg,
        metavar="UM",
        help="µm per pixel (overrides the file's calibration)",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="write <image>_detections.csv and <image>.txt (YOLO labels) here",
    )
    p.set_defaults(func=run)


def _load(model: str | None) -> Any:
    from ..core.detect import load_detector
    from ..core.detect.model import model_note

    try:
        det = load_detector(model)
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    note = model_note(det)  # the demo model: say what it is not, once, as the Detect dock does
    if note:
        log.warning("%s", note)  # stderr: the text and JSON on stdout stay as they were
    return det


def _one(path: str, stem: str, det: Any, args: argparse.Namespace) -> dict[str, Any]:
    from ..core.detect import class_summary, detect, searched_names, write_yolo_txt
    from ..core.imageio import ImageReadError, read_micrograph
    from ..core.progress import run_to_end

    try:
        mf = read_micrograph(path, pixel_size=args.pixel_size)
    except ImageReadError as exc:
        raise CLIError(str(exc)) from exc
    image = mf.image
    stack = mf.plane_note("searched")  # a stack: its plane 0 only
    if stack:
        log.warning("%s: %s", path, stack)
    try:
        df = run_to_end(
            detect(
                image,
                det,
                pixel_size=mf.pixel_size,
                conf=args.conf,
                iou=args.iou,
                max_det=args.max_det,
                agnostic=args.agnostic,
                classes=args.classes,
            ),
            lambda p: log.info("%s: %s", Path(path).name, p.message),
        )
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    names = searched_names(args.classes, det.names)  # the summary lists the classes searched
    summary = class_summary(df, image.shape, mf.pixel_size, names)
    files = []
    if args.out is not None:
        csv, table = args.out / f"{stem}_detections.csv", args.out / f"{stem}_summary.csv"
        with writing(args.out):
            args.out.mkdir(parents=True, exist_ok=True)
        with writing(csv):
            df.to_csv(csv, index=False)
        with writing(table):
            summary.to_csv(table, index=False)
        with writing(args.out / f"{stem}.txt"):
            txt = write_yolo_txt(df, image.shape, args.out / f"{stem}.txt")
        files = [str(csv), str(table), str(txt)]
    return {
        "path": str(path),
        "shape": list(image.shape[:2]),
        "pixel_size_um": mf.pixel_size,
        "model": str(det.path),
        "model_pixel_size_um": det.pixel_size,
        # the detector's note, why the file's calibration was not used, the plane detected
        "note": join_notes(df.attrs.get("note", ""), mf.calibration_note, stack),
        "n_detections": len(df),
        "detections": [
            {
                "class": r.class_name,
                "class_id": int(r.class_id),
                "confidence": round(float(r.confidence), 4),
                "box": [round(float(v), 2) for v in (r.x1, r.y1, r.x2, r.y2)],
            }
            for r in df.itertuples()
        ],
        "summary": summary.to_dict(orient="records"),
        "files": files,
    }


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.conf <= 1 or not 0 <= args.iou <= 1:
        raise CLIError("--conf and --iou must lie between 0 and 1")
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise CLIError(f"--out {args.out} is a file: give a folder for the detection files")
    det = _load(args.model)
    results, failed = [], 0
    for path, stem in zip(args.images, output_stems(args.images), strict=True):
        try:
            results.append(_one(path, stem, det, args))
        except CLIError as exc:
            if len(args.images) == 1:
                raise
            results.append({"path": path, "error": str(exc)})
            failed += 1
    if args.json:
        print_json(results[0] if len(results) == 1 else results)
    else:
        for r in results:
            print(_text(r))
    return 1 if failed else 0


def _text(r: dict[str, Any]) -> str:
    if "error" in r:
        return f"{r['path']}\n  error: {r['error']}"
    lines = [f"{r['path']}: {r['n_detections']} detections"]
    if r["note"]:
        lines.append(f"  note: {r['note']}")
    for s in r["summary"]:
        per = s["per_mm2"]
        per_text = f"{per:.1f} /mm²" if per == per else "n/a /mm² (no pixel size)"
        lines.append(
            f"  {s['class_name']:<12} {s['count']:>5}  {per_text}  "
            f"area {100 * s['area_fraction']:.2f} %"
        )
    lines += [f"  wrote {f}" for f in r["files"]]
    return "\n".join(lines)
