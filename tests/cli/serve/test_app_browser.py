"""The page end to end in a real browser: ``bpverify serve`` in a subprocess, headless Chromium
driven by selenium. A three-layer network, the seed's claim for dC_0/dw^(3)_jk read PROVED from
the verdict card, the claim without sigma' read REFUTED with its hint, the page's address
restoring the claim; the screenshots docs/serve.md shows are saved on the way."""

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # a server, a browser, three proofs: about 20 s

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs"
SEED_W3 = "a^(2)_k * sigma'(z^(3)_j) * 2*(a^(3)_j - y_j)"
WITHOUT_SIGMA_PRIME = "a^(2)_k * 2*(a^(3)_j - y_j)"
CHROMIUM = next(filter(None, map(shutil.which, ["chromium", "chromium-browser"])), None)
DRIVER = shutil.which("chromedriver")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    pytest.importorskip("fastapi")
    port = free_port()
    code = "from bpverify.cli.main import main; main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    with proc:  # closes its pipe when the server has stopped
        yield from _started(proc, f"http://127.0.0.1:{port}")


def _started(proc, url):
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/health", timeout=2) as r:
                    if json.load(r)["status"] == "ok":
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"bpverify serve did not start: {proc.stderr.read().decode()}")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads):
    if CHROMIUM is None or DRIVER is None:
        pytest.skip(
            "needs Chromium and its driver: apt-get install chromium chromium-driver "
            "(.ci/run installs them where it runs as root)"
        )
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    options.add_argument("--window-size=1280,1000")
    # safe browsing on: Chromium then saves a .py without asking to keep a "dangerous" file
    prefs = {"download.default_directory": str(downloads), "safebrowsing.enabled": True}
    options.add_experimental_option("prefs", {**prefs, "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def wait(driver, condition, seconds=60):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(condition)


def verdict_status(driver) -> str:
    text = driver.find_element("id", "verdict").text
    return text.split("\n", 1)[0]


def prove(driver, claim: str) -> str:
    box = driver.find_element("id", "claim")
    box.clear()
    box.send_keys(claim)
    wait(driver, lambda d: d.find_elements("css selector", "#preview math"))
    driver.find_element("id", "prove").click()
    wait(driver, lambda d: verdict_status(d) in ("PROVED", "REFUTED", "UNDECIDED"))
    card = driver.find_element("id", "verdict")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", card)
    return card.text


def test_the_seed_claim_is_proved_and_one_without_sigma_prime_refuted(server, browser):
    browser.get(server)
    layers = browser.find_element("id", "layers")
    layers.clear()
    layers.send_keys("3")
    browser.find_element("id", "derive").click()
    wait(browser, lambda d: len(d.find_elements("css selector", "#activations select")) == 3)
    wait(browser, lambda d: "layer 1, matrix form" in d.find_element("id", "derivation").text)
    assert browser.find_elements("css selector", "#derivation math")  # MathML, rendered
    wrt = browser.find_element("id", "wrt")
    wrt.clear()
    wrt.send_keys("w^(3)_jk")

    text = prove(browser, SEED_W3)
    assert text.startswith("PROVED"), text
    browser.save_screenshot(str(DOCS / "serve-proved.png"))

    text = prove(browser, WITHOUT_SIGMA_PRIME)
    assert text.startswith("REFUTED"), text
    assert "hint: looks like sigma' is missing" in text and "counterexample" in text
    browser.save_screenshot(str(DOCS / "serve-refuted.png"))

    # the address holds the state: a fresh load restores the network and the claim
    browser.get(browser.current_url)
    wait(browser, lambda d: d.find_elements("css selector", "#derivation math"))
    assert browser.find_element("id", "claim").get_attribute("value") == WITHOUT_SIGMA_PRIME
    assert browser.find_element("id", "layers").get_attribute("value") == "3"


def test_the_page_fits_a_phone(server, browser):
    browser.set_window_size(390, 844)
    try:
        browser.get(server)
        wait(browser, lambda d: d.find_elements("css selector", "#derivation math"))
        width = "return document.documentElement.scrollWidth"
        assert browser.execute_script(width) <= 390  # long formulas scroll inside their box
        browser.save_screenshot(str(DOCS / "serve-phone.png"))
        assert prove(browser, WITHOUT_SIGMA_PRIME).startswith("REFUTED")
        assert browser.execute_script(width) <= 390  # the counterexample's table too
    finally:
        browser.set_window_size(1280, 1000)


def test_copy_latex_and_the_downloads(server, browser, downloads):
    browser.get(server)
    wait(browser, lambda d: d.find_elements("css selector", "#derivation math"))
    browser.find_element("id", "copy-latex").click()
    wait(browser, lambda d: d.find_element("id", "derive-status").text == "copied")
    browser.find_element("id", "download-tex").click()
    browser.find_element("id", "download-py").click()
    tex, py = downloads / "gradients.tex", downloads / "grads.py"
    wait(browser, lambda d: tex.is_file() and py.is_file())
    assert tex.read_text().startswith(r"\documentclass") and r"w^{(3)}_{jk}" in tex.read_text()
    assert "def gradients(" in py.read_text()
