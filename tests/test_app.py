"""`emotifusion app`: the Gradio demo in a real browser (headless Chromium), its `/predict` API, and bad input.

The browser test needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them when it can) and skips,
saying so, where they are missing. `EMOTIFUSION_APP_SCREENSHOT=PATH` also saves its screenshot to PATH, and
`EMOTIFUSION_APP_MODEL=DIR` serves that checkpoint to the browser instead of the tiny one (for the README's picture).
"""

import os
import re
import shutil
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("gradio")
from gradio_client import Client, handle_file  # noqa: E402

from emotifusion_hf.app import EmotionDemo, dialogue_from_text, launch_app  # noqa: E402
from emotifusion_hf.labels import EMOTIONS  # noqa: E402

from dataset_builder.demo_examples import write_demo_examples  # noqa: E402


os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(model, examples):
    port = _free_port()
    blocks = launch_app(model, host="127.0.0.1", port=port, examples=examples, device="cpu", prevent_thread_lock=True)
    return blocks, f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    return write_demo_examples(tmp_path_factory.mktemp("app_examples"))


@pytest.fixture(scope="module")
def server(tiny_checkpoint, examples):
    blocks, url = _serve(tiny_checkpoint, examples)
    yield url
    blocks.close()


@pytest.fixture(scope="module")
def client(server):
    return Client(server, verbose=False)


def test_dialogue_box_is_one_turn_per_line():
    assert dialogue_from_text("  \n") is None and dialogue_from_text("Hi.") == "Hi."
    assert dialogue_from_text("You're late.\n\n  Sorry, the bus. \n") == ["You're late.", "Sorry, the bus."]


def test_examples_come_from_our_generators(examples):
    assert len(examples) >= 3
    for image, text in examples:
        assert Image.open(image).size == (224, 224) and text.strip()


def test_the_page_explains_with_integrated_gradients_unless_told_otherwise(tiny_pipe, examples):
    """The default whose face map lands on the brows, eyes and mouth (BENCHMARKS.md: `region_lift_app_default`)."""
    image, text = examples[0]
    *_, heat, words, status = EmotionDemo(tiny_pipe).explain(image, text)
    assert status.endswith("explained by integrated_gradients.") and heat.size == Image.open(image).size and words
    assert EmotionDemo(tiny_pipe, "attention").explain(image, text)[-1].endswith("explained by attention.")


def test_predict_endpoint_answers_with_the_label_score_mapping(client, tiny_pipe, examples):
    image, text = examples[0]
    scores = client.predict(handle_file(image), text, api_name="/predict")
    assert set(scores) == set(EMOTIONS) and sum(scores.values()) == pytest.approx(1.0, abs=1e-5)
    expected = {item["label"]: item["score"] for item in tiny_pipe({"image": image, "text": dialogue_from_text(text)})}
    for label, score in expected.items():
        assert scores[label] == pytest.approx(score, abs=1e-5)
    text_only = client.predict(None, "I can't believe you did that", api_name="/predict")
    assert set(text_only) == set(EMOTIONS)


def test_bad_input_gets_a_readable_message(client, tmp_path):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="Give a face image, a dialogue"):
        client.predict(None, "   \n ", api_name="/predict")
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("this is not a picture")
    with pytest.raises(AppError) as raised:
        client.predict(handle_file(str(not_an_image)), "hello", api_name="/predict")
    assert "Traceback" not in str(raised.value) and str(raised.value).strip()
    # The page's own button reports in its status box instead.
    status = client.predict(None, "", api_name="/explain")[-1]
    assert status.startswith("**Error:**") and "Give a face image" in status


def test_twenty_concurrent_calls_each_get_their_own_answer(client, server, tiny_pipe, tmp_path):
    inputs = []
    for index in range(20):
        path = tmp_path / f"face_{index}.png"
        Image.fromarray(np.random.default_rng(index).integers(0, 256, (48, 40, 3), dtype=np.uint8)).save(path)
        inputs.append((str(path), f"Message number {index}: " + "really " * (index % 5) + "upset"))
    expected = [{item["label"]: item["score"] for item in tiny_pipe({"image": image, "text": text})}
                for image, text in inputs]
    # Mixing two answers up must show: every input's distribution differs from every other's.
    vectors = np.array([[answer[label] for label in EMOTIONS] for answer in expected])
    distances = np.abs(vectors[:, None] - vectors[None]).max(-1) + np.eye(len(vectors))
    assert distances.min() > 1e-4

    jobs = [client.submit(handle_file(image), text, api_name="/predict") for image, text in inputs]
    answers = [job.result(timeout=300) for job in jobs]
    assert len(answers) == 20
    for answer, wanted in zip(answers, expected):
        assert [answer[label] for label in EMOTIONS] == pytest.approx([wanted[label] for label in EMOTIONS], abs=1e-5)
    # Still up, and still right.
    assert set(Client(server, verbose=False).predict(None, "still there?", api_name="/predict")) == set(EMOTIONS)


def test_concurrent_calls_from_many_clients(server):
    def call(index):
        return Client(server, verbose=False).predict(None, f"call {index}", api_name="/predict")

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(call, range(4)))
    assert all(set(answer) == set(EMOTIONS) for answer in answers)


# ---------------------------------------------------------------------------------------------------------------
# In a real browser
# ---------------------------------------------------------------------------------------------------------------


def _chromium():
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (browser and driver):
        reason = ("headless Chromium is not installed here (Debian: apt-get install chromium chromium-driver; "
                  ".ci/run installs them when it runs as root)")
        # Under CI the browser test may only skip where .ci/run said why it could not install Chromium.
        if os.environ.get("CI") and not os.environ.get("EMOTIFUSION_NO_CHROMIUM"):
            pytest.fail(reason + ", and .ci/run did not report why")
        pytest.skip(f"{reason}: {os.environ.get('EMOTIFUSION_NO_CHROMIUM', 'not installed')}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1500", "--force-device-scale-factor=1"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


@pytest.fixture(scope="module")
def browser_server(server, tiny_checkpoint, examples):
    model = os.environ.get("EMOTIFUSION_APP_MODEL")
    if not model:
        yield server
        return
    blocks, url = _serve(model, examples)
    yield url
    blocks.close()


def _wait_for(condition, timeout: float = 120.0, what: str = "the page"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_browser_upload_type_submit_and_read_the_answer(browser_server, examples, tmp_path):
    from selenium.webdriver.common.by import By

    driver = _chromium()
    try:
        driver.get(browser_server)
        file_input = _wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#face input[type=file]"),
                               what="the face upload")[0]
        image, text = examples[0]
        file_input.send_keys(image)
        _wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "#face img"), what="the uploaded face")
        driver.find_element(By.CSS_SELECTOR, "#dialogue textarea").send_keys(text)
        driver.find_element(By.CSS_SELECTOR, "#submit").click()
        status = _wait_for(lambda: "Top emotion" in driver.find_element(By.ID, "status").text
                           and driver.find_element(By.ID, "status").text, what="the answer")
        top = re.search(r"Top emotion: (\w+) \((\d\.\d\d)\)", status)
        assert top and top.group(1) in EMOTIONS
        fused = _wait_for(lambda: driver.find_element(By.ID, "fused").text.strip(), what="the distribution")
        shown = re.findall(r"(" + "|".join(EMOTIONS) + r")\s*\n?\s*(\d+(?:\.\d+)?)%", fused)
        assert len(shown) == 8, fused
        percentages = {label: float(value) for label, value in shown}
        assert max(percentages, key=percentages.get) == top.group(1)
        assert sum(percentages.values()) == pytest.approx(100.0, abs=8 * 0.5 + 0.1)
        assert driver.find_elements(By.CSS_SELECTOR, "#heat img")
        assert driver.find_element(By.ID, "words").text.strip()
        screenshot = tmp_path / "app.png"
        driver.save_screenshot(str(screenshot))
        assert Image.open(screenshot).size[0] >= 1000
        if os.environ.get("EMOTIFUSION_APP_SCREENSHOT"):
            shutil.copyfile(screenshot, os.environ["EMOTIFUSION_APP_SCREENSHOT"])
    finally:
        driver.quit()
