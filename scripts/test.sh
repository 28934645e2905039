#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite headless (widgets under Xvfb via pytest-xvfb).
# Test paths given are the caller's (relative to the folder test.sh was started from); without
# any, the suite runs from the repository root.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup.sh"
paths=0
for arg in "$@"; do
  if [[ "$arg" != -* && -e "${arg%%::*}" ]]; then paths=1; fi
done
if [ "$paths" = 0 ]; then cd "$ROOT"; fi
exec "$ROOT/.venv/bin/python" -m pytest -c "$ROOT/pyproject.toml" --rootdir "$ROOT" "$@"
