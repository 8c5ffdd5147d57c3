"""Headless Chromium from Debian's packages, driven from its command line (no Python
dependency): ``--dump-dom`` for the DOM after scripts ran, ``--screenshot`` for a PNG.

``browser()`` finds it, or skips the test with the reason — except under ``CI=true``,
where ``.ci/run`` installs it and its absence is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["Chromium", "browser", "font_families"]

_NAMES = ("chromium", "chromium-browser")
_INSTALL = "apt-get install -y --no-install-recommends chromium fonts-noto-core fonts-noto-cjk"


def _missing(what: str) -> None:
    text = f"{what} (Debian: {_INSTALL}; .ci/run installs them)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the browser tests: {text}")
    pytest.skip(text)


@dataclass(frozen=True)
class Chromium:
    """A headless Chromium with a private profile under ``profile``."""

    path: str
    profile: Path

    def _run(self, *args: str, size: tuple[int, int]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                self.path,
                "--headless",
                "--no-sandbox",  # tests may run as root (CI containers)
                "--disable-gpu",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                "--no-first-run",
                "--disable-extensions",
                f"--user-data-dir={self.profile}",
                f"--window-size={size[0]},{size[1]}",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def dom(self, page: Path, *, size: tuple[int, int] = (1280, 2000)) -> str:
        """The page's DOM, serialised after it loaded and its scripts ran."""
        done = self._run("--dump-dom", page.resolve().as_uri(), size=size)
        assert done.returncode == 0 and "<html" in done.stdout, done.stderr[-2000:]
        return done.stdout

    def screenshot(self, page: Path, png: Path, *, size: tuple[int, int] = (1280, 2000)) -> Path:
        """A PNG of the page's first ``size`` pixels."""
        done = self._run(f"--screenshot={png}", page.resolve().as_uri(), size=size)
        assert done.returncode == 0 and png.is_file(), done.stderr[-2000:]
        return png


def browser(profile: Path) -> Chromium:
    """The installed Chromium (skip, or fail under CI, without it)."""
    found = next((p for p in (shutil.which(n) for n in _NAMES) if p), None)
    if found is None:
        _missing("no chromium on PATH")
    assert found is not None
    return Chromium(found, profile)


def font_families(lang: str) -> list[str]:
    """Font families fontconfig has for a language (``fc-list :lang=...``); the test is
    skipped (failed under CI) when fontconfig is not there."""
    fc = shutil.which("fc-list")
    if fc is None:
        _missing("no fc-list (fontconfig)")
    assert fc is not None
    done = subprocess.run(
        [fc, f":lang={lang}", "family"], capture_output=True, text=True, timeout=60, check=True
    )
    return sorted({name for line in done.stdout.splitlines() for name in line.split(",") if name})
