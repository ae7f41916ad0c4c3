"""Headless Debian Chromium driven by selenium, with Debian's chromedriver (no browser download)."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# Screenshots are kept as CI artifacts here (git-ignored).
ARTIFACT_DIR = Path(
    os.environ.get("CORPUSFORGE_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")
)


@contextmanager
def chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    # The machine has no network: keep Chromium from trying to reach Google's services.
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for_text(driver, text: str, timeout: float = 60) -> bool:
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in driver.find_element(By.TAG_NAME, "body").text:
            return True
        time.sleep(0.5)
    return False


def click_text(driver, text: str, timeout: float = 60) -> None:
    """Click the innermost element whose whole text is `text` (Prefect's tabs are <li> items)."""
    deadline = time.monotonic() + timeout
    script = (
        "const t=arguments[0];const els=[...document.querySelectorAll('*')]"
        ".filter(e=>e.children.length==0 && e.textContent.trim()==t);"
        "if(els.length){els[els.length-1].click();return true;}return false;"
    )
    while time.monotonic() < deadline:
        if driver.execute_script(script, text):
            return
        time.sleep(0.5)
    raise AssertionError(f"no element with text {text!r} appeared")


def screenshot(driver, name: str) -> Path:
    ARTIFACT_DIR.mkdir(parents=True, exist_ok=True)
    path = ARTIFACT_DIR / name
    driver.save_screenshot(str(path))
    return path
