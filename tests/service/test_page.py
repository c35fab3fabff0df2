"""The page at /, driven in headless Chromium (Debian's, through Playwright): paste a key, drop images, read the verdict."""

import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install chromium); .ci/run installs it")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def test_the_page_verifies_and_identifies(browser, service, run01):
    server, keys = service
    page = browser.new_page()
    page.goto(server.url + "/")
    page.fill("#key", keys["read"])
    page.set_input_files("#image1", str(run01 / "test" / "item06.png"))
    page.set_input_files("#image2", str(run01 / "training" / "class18.png"))
    page.click("#go")
    page.wait_for_function("document.getElementById('verdict').textContent.includes('distance')")
    assert page.text_content("#verdict") == "same (distance 0.1177, threshold 0.3205)"
    assert page.get_attribute("#verdict", "class") == "same"
    page.set_input_files("#image2", [])
    page.set_input_files("#image1", str(run01 / "training" / "class07.png"))
    page.click("#go")
    page.wait_for_function("document.getElementById('verdict').textContent.startsWith('class07')")
    assert page.text_content("#verdict").startswith("class07 (distance 0.0000")


def test_the_page_says_when_the_key_is_wrong(browser, service, run01):
    server, _ = service
    page = browser.new_page()
    page.goto(server.url + "/")
    page.fill("#key", "siamese_not-a-key")
    page.set_input_files("#image1", str(run01 / "training" / "class07.png"))
    page.click("#go")
    page.wait_for_function("document.getElementById('verdict').className === 'error'")
    assert "API key" in page.text_content("#verdict")
