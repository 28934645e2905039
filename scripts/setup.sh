#!/usr/bin/env bash
# Create or reuse the virtual environment at .venv in the repo root and install the project.
# Installs the system packages Qt needs under Xvfb when run as root (apt-get).
# Re-running is cheap: nothing is reinstalled unless pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES="xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 libxcb-randr0 \
libxcb-render-util0 libxcb-image0 libxcb-xkb1 libxkbcommon-x11-0 libxcb-shape0 libxcb-xfixes0 \
libxcb-cursor0 libgl1 libegl1 libfontconfig1 libdbus-1-3"

# The library list is read whole first: `ldconfig -p | grep -q` under pipefail fails whenever
# grep's early exit kills ldconfig with SIGPIPE, and set-up would then run apt-get needlessly.
libs=$(ldconfig -p 2>/dev/null || true)
if ! command -v xvfb-run >/dev/null 2>&1 || [[ "$libs" != *libxcb-icccm* ]]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing system packages for Qt under Xvfb"
    apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $APT_PACKAGES >/dev/null
  else
    echo "setup: please install (as root): apt-get install $APT_PACKAGES" >&2
  fi
fi

PY=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $PY"
  "$PY" -m venv .venv
fi

# The environment needs about 7 GB (torch's CUDA build is what this machine's disk holds).
# No pip cache: it would only double what a fresh machine writes.
export PIP_NO_CACHE_DIR=1
pip_install() {
  # Up to three tries: a download cut off half way is retried, not fatal.
  local try log
  log=$(mktemp)
  for try in 1 2 3; do
    if .venv/bin/python -m pip install -q --retries 10 "$@" >"$log" 2>&1; then
      grep -v "is ignored" "$log" || true
      rm -f "$log"
      return 0
    fi
    grep -v "is ignored" "$log" >&2 || true
    echo "setup: pip install $* failed (try $try of 3); free disk: $(df -h . | tail -1)" >&2
    sleep $((try * 10))
  done
  rm -f "$log"
  return 1
}

stamp=.venv/.napari-microstructure-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing dependencies into .venv (first time: a few minutes)"
  pip_install --upgrade pip || true
  # torch and torchvision first, as the pair that installs from this machine's disk.
  pip_install torch==2.14.1 torchvision==0.29.1
  pip_install -e ".[test]"
  .venv/bin/python -c "import napari_microstructure, napari, torch, ultralytics, segment_anything"
  echo "$want" > "$stamp"
fi
