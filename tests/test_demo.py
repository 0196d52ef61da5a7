"""`depdetect demo`: the Gradio app, launched on 127.0.0.1 and called through gradio_client, returns what the
pipelines return; bad input comes back as the pipeline's own message."""

from __future__ import annotations

import pandas as pd
import pytest

from .conftest import free_port
from .test_cli import TURNS


@pytest.fixture(scope="module")
def app(models):
    from depdetect.demo import launch

    port = free_port()
    demo = launch([str(models["hybrid"]), str(models["dual_encoder"]), str(models["doris"])], port=port,
                  block=False)
    yield f"http://127.0.0.1:{port}/"
    demo.close()


@pytest.fixture(scope="module")
def client(app):
    from gradio_client import Client

    return Client(app, verbose=False, analytics_enabled=False, download_files=False)


def test_the_hybrid_tab_returns_the_pipelines_label_probability_and_words(client, models, tokenizer):
    from depdetect import DepressionDetectionPipeline, HybridForSequenceClassification

    text = "I can't sleep and I feel hopeless"
    label, probability, words = client.predict(text, "NAS", api_name="/explain_text")
    expected = DepressionDetectionPipeline(model=HybridForSequenceClassification.from_pretrained(models["hybrid"]),
                                           tokenizer=tokenizer)(text)
    assert label == expected["label"] and float(probability) == pytest.approx(expected["probability"], abs=1e-4)
    tokens = [t["token"] for t in expected["tokens"]]
    assert [w["token"] for w in words] == tokens
    top = max(abs(t["nas"]) for t in expected["tokens"])
    assert [w["class_or_confidence"] for w in words] == pytest.approx([t["nas"] / top for t in expected["tokens"]],
                                                                      abs=1e-3)


def test_the_interview_tab_returns_the_score_and_attention(client, models, tokenizer):
    from transformers import AutoTokenizer

    from depdetect import DepressionScoringPipeline, DualEncoderForDepressionScoring

    table = {"headers": ["prompt", "response"], "data": [[t["prompt"], t["response"]] for t in TURNS]}
    summary, bars, shaded = client.predict(table, api_name="/score_interview")
    model = DualEncoderForDepressionScoring.from_pretrained(models["dual_encoder"])
    expected = DepressionScoringPipeline(model=model, tokenizer=AutoTokenizer.from_pretrained(
        models["dual_encoder"], config=model.config))([{"prompt": t["prompt"], "response": t["response"]}
                                                       for t in TURNS])
    assert f"{expected['severity']:.2f}" in summary
    values = pd.DataFrame(bars["data"], columns=bars["columns"])["attention"].tolist()
    assert values == pytest.approx([t["attention"] for t in expected["turns"]], abs=1e-5)
    assert TURNS[0]["response"].replace("'", "&#x27;") in shaded


def test_the_user_tab_returns_dorises_explanation(client, models, cohort):
    from depdetect import DorisPipeline

    user = cohort["test"].to_list()[0]
    table = {"headers": ["timestamp", "text"], "data": [[p["timestamp"], p["text"]] for p in user["posts"]]}
    summary, details = client.predict(table, None, api_name="/explain_user")
    expected = DorisPipeline.from_pretrained(models["doris"]).explain({"user_id": "demo-user", "posts": user["posts"]})
    assert f"P(depression) = {expected['probability']:.3f}" in summary and expected["label"] in summary
    assert "<svg" in details or not expected["mood_posts"]


@pytest.mark.parametrize("api, args, message", [
    ("/explain_text", ("   ", "NAS"), "empty or holds only whitespace"),
    ("/score_interview", ({"headers": ["prompt", "response"], "data": [["How are you?", ""]]},), "response"),
    ("/explain_user", ({"headers": ["timestamp", "text"], "data": [["last tuesday", "I feel low"]]}, None),
     "not ISO 8601"),
])
def test_bad_input_shows_the_pipelines_message(client, api, args, message):
    with pytest.raises(Exception, match=message):
        client.predict(*args, api_name=api)


def test_the_browser_tests_name_the_part_that_is_missing():
    from .test_browser import missing_browser_parts

    assert missing_browser_parts("/usr/bin/chromium", "/usr/bin/chromedriver") is None
    only_driver = missing_browser_parts("/usr/bin/chromium", None)
    assert only_driver.startswith("chromium-driver (chromedriver) is absent") and "install chromium-driver " in (
        only_driver)
    assert missing_browser_parts(None, None).startswith("chromium and chromium-driver (chromedriver) are absent")


def test_bad_input_is_not_printed_or_logged_by_the_server(client, capfd, caplog):
    """Issue 23, findings 6 and 17: the error a person's input causes is shown in the page only; the server's
    terminal and log get neither a traceback nor what was typed."""
    typed = "SECRET-MARKER-4711"
    capfd.readouterr()
    with caplog.at_level("DEBUG"), pytest.raises(Exception, match=typed):  # the page shows it ...
        client.predict({"headers": ["timestamp", "text"], "data": [[typed, "I feel low"]]}, None,
                       api_name="/explain_user")
    out, err = capfd.readouterr()
    assert typed not in out + err + caplog.text and "Traceback" not in out + err  # ... nothing else does


def test_the_demo_starts_behind_a_proxy_and_says_where_it_serves(models, tmp_path):
    """Issue 23, findings 6 and 17: with HTTP(S)_PROXY set and no NO_PROXY, Gradio's start-up check of its own URL
    went through the proxy (a traceback); the terminal showed Gradio's "set share=True" advice."""
    import os
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy",)}
    env.update(HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", HF_HUB_OFFLINE="1")
    log = tmp_path / "demo.log"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "depdetect.cli", "demo", str(models["hybrid"]), "--port",
                                    str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline, page = time.monotonic() + 120, None
        while page is None and time.monotonic() < deadline and process.poll() is None:
            try:
                page = direct.open(f"http://127.0.0.1:{port}/", timeout=5).read()
            except OSError:
                time.sleep(1)
        assert page is not None, log.read_text()[-2000:]
        time.sleep(1)
        text = log.read_text()
        assert f"depdetect demo on http://127.0.0.1:{port}" in text and "share=True" not in text
        assert "Traceback" not in text
    finally:
        process.terminate()
        process.wait(30)
