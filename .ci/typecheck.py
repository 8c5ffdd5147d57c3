"""Run mypy over the package as it is installed: src/paychannels plus drivers/ and simulators/.

The example outside driver (examples/echo-driver) is checked alongside, as its own package.

The three trees form one package only through setuptools' package-dir mapping, which mypy
cannot follow, so this builds a temporary tree of symlinks shaped like the installed package.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="paychannels-mypy-") as tmp:
        pkg = Path(tmp) / "paychannels"
        pkg.mkdir()
        for entry in (ROOT / "src" / "paychannels").iterdir():
            if entry.name not in ("drivers", "simulators", "__pycache__"):
                (pkg / entry.name).symlink_to(entry)
        (pkg / "drivers").symlink_to(ROOT / "drivers")
        (pkg / "simulators").symlink_to(ROOT / "simulators")
        echo = ROOT / "examples" / "echo-driver" / "paychannels_echo"
        (Path(tmp) / echo.name).symlink_to(echo)
        cmd = [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(Path(tmp) / ".mypy_cache"),
            "-p",
            "paychannels",
            "-p",
            echo.name,
        ]
        return subprocess.call(cmd, cwd=tmp, env={"MYPYPATH": tmp, "PATH": "/usr/bin:/bin"})


if __name__ == "__main__":
    sys.exit(main())
