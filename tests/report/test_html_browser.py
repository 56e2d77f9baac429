"""The HTML report in a real headless Chromium: grid cells and colours, a click opens the
provenance, filters hide rows, nothing is fetched, it prints. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.check.deploykit import tree

from .browser import ARTIFACTS, chromium, missing_browser

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    why = missing_browser()
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"no browser under CI: {why}")
        pytest.skip(why)
    with chromium() as driver:
        yield driver


def _report(target: Path, out: Path, *extra: str) -> Path:
    proc = subprocess.run(
        [sys.executable, "-m", "keydrift", "check", str(target), "--format", "html", "-o",
         str(out), *extra], capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert out.is_file()
    return out


def _css(driver: Any, selector: str) -> list[Any]:
    return list(driver.find_elements("css selector", selector))


def _visible_rows(driver: Any) -> list[Any]:
    return [r for r in _css(driver, "tr.finding") if r.is_displayed()]


def _select(driver: Any, name: str, value: str) -> None:
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("id", f"filter-{name}")).select_by_value(value)


def test_staging_incident_grid_click_and_filters(browser: Any, tmp_path: Path) -> None:
    report = _report(EXAMPLES / "incident-staging-placeholder", tmp_path / "report.html")
    browser.get(report.as_uri())
    assert browser.title == "keydrift check report"

    cells = _css(browser, "td.cell")
    assert [(c.get_attribute("data-service"), c.get_attribute("data-key")) for c in cells] == [
        ("auth", "A"), ("backend", "A"), ("backend", "B")]
    colours = [c.value_of_css_property("background-color") for c in cells]
    assert colours[0] == colours[1] != colours[2]
    assert all(colour not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)") for colour in colours)
    # Colour is never the only signal: the letter and the marker are text in the cell.
    assert cells[0].text.split()[0] == "A" and cells[2].text.split()[0] == "B"
    assert "placeholder" in cells[2].text

    panel = browser.find_element("id", "panel")
    assert panel.text == ""
    cells[2].click()
    assert "deploy/deploy_staging.py:17" in panel.text
    assert "KD301" in panel.text and "placeholder" in panel.text
    links = [a.get_attribute("href") for a in panel.find_elements("css selector", "a")]
    assert any(h.endswith("docs/rules/KD301.md") for h in links)

    # From the cell's finding link to the finding's details.
    panel.find_element("link text", "KD202").click()
    assert "different values" in panel.text and "fix" in panel.text

    rows = _css(browser, "tr.finding")
    assert len(rows) == 3
    rows[-1].click()
    assert panel.find_element("css selector", "[data-shows]").get_attribute("data-shows") == "f-2"

    _select(browser, "rule", "KD402")
    assert [r.get_attribute("data-rule") for r in _visible_rows(browser)] == ["KD402"]
    assert browser.find_element("id", "shown").text == "1 of 3 shown"
    _select(browser, "rule", "")
    _select(browser, "environment", "staging")
    assert len(_visible_rows(browser)) == 3
    _select(browser, "severity", "error")
    assert len(_visible_rows(browser)) == 3
    _select(browser, "environment", "")

    # Keyboard: a focused cell opens with Enter.
    from selenium.webdriver.common.keys import Keys

    cells[0].send_keys(Keys.ENTER)
    assert "staging.env:3" in panel.text and "auth" in panel.text

    # Nothing was fetched: the page is self-contained.
    entries = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert entries == []
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "incident-staging-placeholder.png"))
    assert (ARTIFACTS / "incident-staging-placeholder.png").stat().st_size > 10_000


def test_unit_filter_hides_other_units(browser: Any, tmp_path: Path) -> None:
    compose = ("services:\n  api:\n    image: acme/api\n    environment:\n"
               "      JWT_SECRET: ${JWT_SECRET}\n")
    root = tree(tmp_path / "r", {"a/docker-compose.yml": compose, "b/docker-compose.yml": compose},
                tracked=False)
    report = _report(root, tmp_path / "report.html")
    browser.get(report.as_uri())
    units = sorted({r.get_attribute("data-unit") for r in _css(browser, "tr.finding")})
    assert units == ["compose:a/docker-compose.yml", "compose:b/docker-compose.yml"]
    _select(browser, "unit", units[1])
    visible = _visible_rows(browser)
    assert visible and {r.get_attribute("data-unit") for r in visible} == {units[1]}
    assert len(visible) < len(_css(browser, "tr.finding"))
    assert [g.get_attribute("data-unit") for g in _css(browser, "table.grid")] == units


def test_print_media_hides_controls_and_shows_every_row(browser: Any, tmp_path: Path) -> None:
    report = _report(EXAMPLES / "incident-staging-placeholder", tmp_path / "report.html")
    browser.get(report.as_uri())
    _select(browser, "rule", "KD402")
    assert len(_visible_rows(browser)) == 1
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert not browser.find_element("css selector", ".filters").is_displayed()
        assert len(_visible_rows(browser)) == 3
        cell = _css(browser, "td.cell")[0]
        assert cell.value_of_css_property("print-color-adjust") == "exact"
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    pdf = browser.print_page()
    assert len(pdf) > 1000


def test_replicas_incident_marks_generated_keys(browser: Any, tmp_path: Path) -> None:
    report = _report(EXAMPLES / "incident-replicas", tmp_path / "report.html")
    browser.get(report.as_uri())
    [cell] = _css(browser, "td.cell")
    assert cell.get_attribute("data-marker") == "generated"
    assert "generated per process" in cell.text and "3 processes" in cell.text
    assert "has-findings" in (cell.get_attribute("class") or "")
    cell.click()
    panel = browser.find_element("id", "panel")
    assert "docker-compose.yml:6" in panel.text and "KD102" in panel.text
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "incident-replicas.png"))


def test_hostile_names_stay_text(browser: Any, tmp_path: Path) -> None:
    payload = '<img src=x onerror="window.kdPwned=1">'
    name = "evil" + payload
    compose = (
        "services:\n"
        f"  '{name}':\n    image: acme/api\n    environment:\n"
        f"      JWT_SECRET: {secrets.token_urlsafe(40)}\n"
        f"  auth:\n    image: acme/auth\n    environment:\n"
        f"      JWT_SECRET: {secrets.token_urlsafe(40)}\n"
    )
    root = tree(tmp_path / "r", {"docker-compose.yml": compose, f"{'x' * 3}</script>.env": ""},
                tracked=False)
    report = _report(root, tmp_path / "report.html")
    assert payload not in report.read_text()
    browser.get(report.as_uri())
    assert _css(browser, "img") == []
    assert browser.execute_script("return window.kdPwned === undefined")
    headers = [th.text for th in _css(browser, "table.grid th")]
    assert name in headers
    for cell in _css(browser, "td.cell"):
        cell.click()
    assert browser.execute_script("return window.kdPwned === undefined")
