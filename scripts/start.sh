#!/usr/bin/env bash
# Set up (if needed) and start napari with the plugin's widgets docked and a sample micrograph
# open in µm. Arguments are passed on: micrograph paths to open instead of the sample.
# Paths are the caller's: the app runs in the folder start.sh was started from, and python -P
# keeps that folder off the module path, so a file there cannot shadow a package.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
APP=("$ROOT/.venv/bin/python" -P -m napari_microstructure.app)
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "start: no display found; running on a virtual screen (Xvfb)." >&2
  exec xvfb-run -a -s "-screen 0 1600x1000x24" "${APP[@]}" "$@"
fi
exec "${APP[@]}" "$@"
