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
    assert label == expected["label"] and probability == pytest.approx(expected["probability"], abs=1e-4)
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
