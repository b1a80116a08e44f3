"""The HTML report in a real browser: headless Chromium (Debian's `chromium` and
`chromium-driver`, driven through selenium) opens the page `cnncalc show -f html` writes, and
the page renders (a screenshot that is not blank, no console errors), its diagram has one box
per top-level row, and clicking a column's header sorts the table.

CI installs Chromium and selenium (`.ci/run`, the `test` extra): there (CI=true) nothing here
is skipped; elsewhere the tests skip when either is missing.
"""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cnncalc
from cnncalc.commands import app

IN_CI = bool(os.environ.get("CI"))
CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser",
                                                 "google-chrome"))), None)
DRIVER = shutil.which("chromedriver")


def _missing(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} is missing, and CI must run the browser tests (.ci/run installs it)")
    pytest.skip(f"{what} is not installed")


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
    except ImportError:
        _missing("selenium")
    if CHROMIUM is None or DRIVER is None:
        _missing("Debian's chromium and chromium-driver")
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium must not look for drivers online
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,1600"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=DRIVER),
                              options=options)
    try:
        yield driver
    finally:
        driver.quit()


def report_page(tmp_path: Path, spec: str, *args: str) -> Path:
    page = tmp_path / f"{spec}.html"
    result = CliRunner().invoke(app, ["show", spec, *args, "-o", str(page)])
    assert result.exit_code == 0, result.output
    return page


def open_page(driver, page: Path) -> None:
    driver.get_log("browser")  # forget what earlier pages logged
    driver.get(page.resolve().as_uri())
    assert driver.execute_script("return document.readyState") == "complete"


def errors(driver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser")
            if entry["level"] in ("SEVERE", "ERROR")]


def png_pixels(data: bytes) -> bytes:
    """The decompressed scanlines of a PNG (filter bytes included): enough to tell a blank
    image (one colour: a few distinct byte values) from a drawn one."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks = 8, []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        kind = data[offset + 4:offset + 8]
        if kind == b"IDAT":
            chunks.append(data[offset + 8:offset + 8 + length])
        offset += 12 + length
    return zlib.decompress(b"".join(chunks))


def column_values(driver, title: str) -> list[float]:
    """The sort values of one column of the first table, in the order shown (input and total
    rows left out)."""
    return driver.execute_script("""
        const table = document.querySelector("table.sortable");
        const heads = Array.from(table.tHead.rows[0].cells).map(th => th.textContent.trim());
        const col = heads.indexOf(arguments[0]);
        return Array.from(table.tBodies[0].rows)
          .filter(r => !r.classList.contains("input") && !r.classList.contains("total"))
          .map(r => parseFloat(r.cells[col].getAttribute("data-v")));
    """, title)


def header(driver, title: str):
    from selenium.webdriver.common.by import By

    return next(th for th in driver.find_elements(By.CSS_SELECTOR, "table.sortable th")
                if th.text.strip() == title)


@pytest.mark.parametrize("spec", ["yolov8n", "resnet18", "inception_v3"])
def test_the_report_renders_with_a_box_per_top_level_row(browser, tmp_path, spec):
    page = report_page(tmp_path, spec)
    open_page(browser, page)
    shot = tmp_path / f"{spec}.png"
    assert browser.save_screenshot(str(shot))
    pixels = png_pixels(shot.read_bytes())
    assert len(set(pixels)) > 16, "the screenshot is blank"
    assert errors(browser) == []
    report = cnncalc.analyze(cnncalc.load(spec))
    paths = browser.execute_script(
        "return Array.from(document.querySelectorAll('svg.network g.node'))"
        ".map(g => g.getAttribute('data-path'))")
    assert paths == [node.path for node in report.nodes]
    box = browser.execute_script(
        "const r = document.querySelector('svg.network').getBoundingClientRect();"
        "return [r.width, r.height];")
    assert box[0] > 200 and box[1] > 60 * len(report.nodes)
    outputs = browser.execute_script(
        "return Array.from(document.querySelectorAll('svg.network g.node.output'))"
        ".map(g => g.getAttribute('data-path'))")
    assert outputs == [node.path for node in report.outputs]


def test_clicking_a_header_sorts_the_table(browser, tmp_path):
    open_page(browser, report_page(tmp_path, "resnet18"))
    shown = column_values(browser, "MACs")
    assert shown != sorted(shown, reverse=True)  # in network order to begin with
    header(browser, "MACs").click()
    macs = column_values(browser, "MACs")
    assert macs == sorted(shown, reverse=True)  # largest first
    header(browser, "MACs").click()
    assert column_values(browser, "MACs") == sorted(shown)  # again: smallest first
    header(browser, "Params").click()
    params = column_values(browser, "Params")
    assert params == sorted(params, reverse=True) and len(params) == len(shown)
    roles = browser.execute_script(
        "return Array.from(document.querySelector('table.sortable').tBodies[0].rows)"
        ".map(r => r.className.split(' ')[0])")
    assert roles[0] == "input" and roles[-1] == "total"  # pinned where they were
    header(browser, "Layer").click()  # text: A to Z
    names = browser.execute_script(
        "return Array.from(document.querySelector('table.sortable').tBodies[0].rows)"
        ".slice(1, -1).map(r => r.cells[0].textContent.trim().toLowerCase())")
    assert names == sorted(names)
    assert header(browser, "Layer").get_attribute("aria-sort") == "ascending"
    assert errors(browser) == []


def test_two_notebook_outputs_on_one_page_sort_their_own_tables(browser, tmp_path):
    """`_repr_html_` fragments: each one's script sorts its own table only."""
    lenet = cnncalc.analyze(cnncalc.load("lenet5"))._repr_html_()
    resnet = cnncalc.analyze(cnncalc.load("resnet18"))._repr_html_()
    page = tmp_path / "notebook.html"
    page.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'>"
                    "<link rel='icon' href='data:,'></head><body>"
                    f"{lenet}{resnet}</body></html>", encoding="utf-8")
    open_page(browser, page)
    assert browser.execute_script("return document.querySelectorAll('svg.network').length") == 2
    from selenium.webdriver.common.by import By

    second = browser.find_elements(By.CSS_SELECTOR, "div.cnncalc")[1]
    mac_header = next(th for th in second.find_elements(By.CSS_SELECTOR, "table.sortable th")
                      if th.text.strip() == "MACs")
    mac_header.click()
    sorted_flags = browser.execute_script("""
        return Array.from(document.querySelectorAll("div.cnncalc")).map(div =>
          div.querySelectorAll("th[aria-sort]").length);
    """)
    assert sorted_flags[0] == 0 and sorted_flags[1] == 1
    assert errors(browser) == []


def test_a_sweep_has_a_chart_per_budget(browser, tmp_path):
    """`fit`'s page: a chart per budget, a point per candidate tried (green where it fits)."""
    page = tmp_path / "fit.html"
    result = CliRunner().invoke(app, ["fit", "resnet18", "--max-macs", "1G", "--max-params",
                                      "9M", "-o", str(page)])
    assert result.exit_code == 0, result.output
    open_page(browser, page)
    charts = browser.execute_script(
        "return Array.from(document.querySelectorAll('svg.plot')).map(svg => ["
        "svg.getAttribute('aria-label'), svg.querySelectorAll('circle').length,"
        "svg.querySelectorAll('line.limit').length])")
    rows = browser.execute_script(
        "return document.querySelector('table.sortable').tBodies[0].rows.length")
    # in the order `check` lists budgets (analyses.budget.BUDGETS), whatever the options' order
    assert charts == [["params against phi", rows, 1], ["MACs against phi", rows, 1]]
    assert errors(browser) == []


def test_a_resolution_sweep_has_its_charts(browser, tmp_path):
    page = tmp_path / "resolution.html"
    result = CliRunner().invoke(app, ["resolution", "resnet18", "--sweep", "32..256:32",
                                      "-o", str(page)])
    assert result.exit_code == 0, result.output
    open_page(browser, page)
    charts = browser.execute_script(
        "return Array.from(document.querySelectorAll('svg.plot')).map(svg => ["
        "svg.getAttribute('aria-label'), svg.querySelectorAll('circle').length])")
    assert charts == [["MACs against the input size", 8], ["activations against the input size", 8]]
    assert errors(browser) == []
