"""Run every docs/_scripts/shot_*.py (each in its own process) to refresh docs/images/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    prefix: list[str] = []
    if not os.environ.get("DISPLAY") and shutil.which("xvfb-run"):
        prefix = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24"]
    failed = 0
    for script in sorted(HERE.glob("shot_*.py")):
        if len(sys.argv) > 1 and not any(name in script.stem for name in sys.argv[1:]):
            continue
        print(f"-- {script.name}", flush=True)
        failed += subprocess.call([*prefix, sys.executable, str(script)]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
