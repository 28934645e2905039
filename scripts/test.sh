#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite headless (widgets under Xvfb via pytest-xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
