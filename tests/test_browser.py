"""The demo and the HTML report in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`,
driven by Selenium). Skips, saying why, where Chromium is absent; `.ci/run` installs it first."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from .conftest import free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


def missing_browser_parts(chromium: str | None, driver: str | None) -> str | None:
    """Why the browser tests cannot run here, naming exactly what is missing (None: they can)."""
    missing = [name for name, found in (("chromium", chromium), ("chromium-driver (chromedriver)", driver))
               if found is None]
    if not missing:
        return None
    return f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} absent: apt-get install " + " ".join(
        name.split(" ")[0] for name in missing) + " to run this test"


pytestmark = pytest.mark.skipif(missing_browser_parts(CHROMIUM, DRIVER) is not None,
                                reason=missing_browser_parts(CHROMIUM, DRIVER) or "")
#: set to a path to keep the demo's screenshot, and to a trained Hybrid to show it (the README's picture:
#: DEPDETECT_DEMO_MODEL=outputs/hybrid DEPDETECT_SCREENSHOT_TO=docs/demo.png pytest tests/test_browser.py)
SCREENSHOT_TO = os.environ.get("DEPDETECT_SCREENSHOT_TO")
DEMO_MODEL = os.environ.get("DEPDETECT_DEMO_MODEL")


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1200,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()



def test_the_demo_highlights_the_words_of_a_typed_text_and_shows_the_notice(browser, models, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    from depdetect.demo import launch

    port = free_port()
    demo = launch([DEMO_MODEL or str(models["hybrid"])], port=port, block=False)
    try:
        browser.get(f"http://127.0.0.1:{port}/")
        wait = WebDriverWait(browser, 60)
        box = wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, "#hybrid-text textarea")))
        probability = "#hybrid-probability textarea, #hybrid-probability input"
        assert browser.find_element(By.CSS_SELECTOR, probability).get_attribute("value") == ""  # no "0" before input
        box.send_keys("I cannot sleep and everything feels hopeless")
        browser.find_element(By.CSS_SELECTOR, "#hybrid-submit").click()
        wait.until(lambda d: "hopeless" in d.find_element(By.ID, "hybrid-words").text)
        words = browser.find_element(By.ID, "hybrid-words").text
        assert all(w in words for w in ("sleep", "hopeless"))
        assert "not a diagnostic tool" in browser.find_element(By.TAG_NAME, "body").text
        label = browser.find_element(By.CSS_SELECTOR, "#hybrid-label textarea, #hybrid-label input")
        assert label.get_attribute("value") in ("control", "depression")
        assert 0 <= float(browser.find_element(By.CSS_SELECTOR, probability).get_attribute("value")) <= 1
        shot = tmp_path / "demo.png"
        assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
        if SCREENSHOT_TO:
            shutil.copyfile(shot, SCREENSHOT_TO)
    finally:
        demo.close()


def test_the_html_report_shows_highlighted_text_and_runs_no_script_from_input(browser, models, tmp_path):
    from selenium.webdriver.common.by import By

    from depdetect.cli import main

    hostile = ['<script>document.title = "pwned"; window.ran = 1;</script> I feel hopeless',
               '<img src=x onerror="document.title=\'pwned\'; window.ran = 1"> tired',
               'fine" onmouseover="window.ran = 1" autofocus onfocus="window.ran = 1" x="']
    source = tmp_path / "texts.jsonl"
    source.write_text("".join(json.dumps({"text": t}) + "\n" for t in hostile))
    main(["predict", str(models["hybrid"]), str(source), "-o", str(tmp_path / "out.jsonl"),
          "--html", str(tmp_path / "report.html")])
    browser.get(Path(tmp_path / "report.html").as_uri())
    assert browser.title.startswith("depdetect predictions") and "pwned" not in browser.title
    assert browser.execute_script("return window.ran === undefined")  # the test's own script runs; the page's none
    spans = browser.find_elements(By.CSS_SELECTOR, "p.words span")
    assert any("hopeless" in s.text for s in spans) and all(s.get_attribute("style") for s in spans)
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "onerror" in body and "onmouseover" in body and "not a diagnostic tool" in body  # shown as text
