"""A real headless Chromium for the HTML report tests (Debian's ``chromium`` and
``chromium-driver``, installed by ``.ci/run``), driven through selenium.

The network is closed where tests run, so every background fetch Chromium would make is turned
off; the report itself forbids fetches (Content-Security-Policy). Without a browser the tests
skip with the reason, except under ``CI=true``, where a missing browser is a failure.

``python -m tests.report.browser REPORT.html OUT.png`` takes a screenshot of a report (how the
pictures in docs/img/ were made).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
DRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1")


def missing_browser() -> str | None:
    """Why no browser can run here, or ``None``."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    if not any(os.access(p, os.X_OK) for p in CHROMIUM):
        return "Debian's chromium is not installed (apt-get install chromium chromium-driver)"
    if not os.access(DRIVER, os.X_OK):
        return "chromedriver is not installed (apt-get install chromium-driver)"
    return None


@contextmanager
def chromium(width: int = 1280, height: int = 900) -> Iterator[Any]:
    """A headless Chromium session with its own throw-away profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="kd-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = next(p for p in CHROMIUM if os.access(p, os.X_OK))
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        driver.set_page_load_timeout(60)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(report: Path, out: Path, *, width: int = 1400, click_last_cell: bool = True) -> None:
    """A full-page PNG of ``report`` with the last grid cell's details open."""
    with chromium(width, 900) as driver:
        driver.get(report.resolve().as_uri())
        cells = driver.find_elements("css selector", "td.cell")
        if click_last_cell and cells:
            cells[-1].click()
        height = int(driver.execute_script("return document.documentElement.scrollHeight"))
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": min(height, 4000), "deviceScaleFactor": 1, "mobile": False})
        out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(out))


if __name__ == "__main__":
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]))
