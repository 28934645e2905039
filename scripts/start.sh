#!/usr/bin/env bash
# Set up (if needed) and start napari with the plugin's widgets docked and a sample micrograph
# open in µm. Arguments are passed on: micrograph paths to open instead of the sample.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "start: no display found; running on a virtual screen (Xvfb)." >&2
  exec xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python -m napari_microstructure.app "$@"
fi
exec .venv/bin/python -m napari_microstructure.app "$@"
