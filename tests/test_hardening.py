"""The seven findings of the hardening issue, each as the case that failed before, plus the validation rules.

1. a loaded DORIS folder contacts no server (and sends no key) and reads no path outside itself;
2. publishing refuses symlinks and disguised pickles before any request;
3. one run owns one output folder: another run's folder is refused, a half-saved run cannot be pushed;
4. a stale checkpoint of another run is refused;
5. a failed save (full disk) leaves the previous folder loadable;
6. the OpenAI-compatible client: truncated bodies retried, slow drips cut at the deadline, Retry-After honoured;
7. an unreadable LLM answer is never cached and is asked again on the next run.
"""

from __future__ import annotations

import errno
import json
import shutil
import socket
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from depdetect import DorisPipeline
from depdetect.cli import main

from .chat_server import ChatServer
from .conftest import doris_config
from .hub_server import HubServer
from .test_train import args as hybrid_args


def balanced_users(split, n: int, depressed: int = 5) -> list[dict]:
    users = split.to_list()
    positive = [u for u in users if u["label"] == 1][:depressed]
    return positive + [u for u in users if u["label"] == 0][: n - len(positive)]


@pytest.fixture(scope="module")
def doris_folder(tmp_path_factory, tiny_embedder, cohort) -> Path:
    folder = tmp_path_factory.mktemp("doris") / "doris"
    doris = DorisPipeline(doris_config(), embedder=tiny_embedder).fit(balanced_users(cohort["train"], 60))
    doris.save_pretrained(folder, metrics={"test": {"f1": 0.5}}, include_embedder=True)
    return folder


def copy_with_config(folder: Path, tmp_path: Path, **changes) -> Path:
    out = tmp_path / "edited"
    shutil.copytree(folder, out)
    config = json.loads((out / "doris_config.json").read_text())
    config.update(changes)
    (out / "doris_config.json").write_text(json.dumps(config))
    return out


# -- 1. loading contacts nothing and reads nothing outside the folder ---------------------------------------------


def test_a_malicious_doris_config_makes_zero_requests_and_sends_no_key(doris_folder, cohort, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    users = balanced_users(cohort["test"], 5, depressed=1)
    with ChatServer() as server:
        evil = copy_with_config(doris_folder, tmp_path, annotator=f"openai:{server.url}#m")
        loaded = DorisPipeline.from_pretrained(evil)
        probabilities = loaded.predict_proba(users)
        explained = loaded.explain(users[0])
        assert server.prompts == []  # nothing sent: no post text, no Authorization header
        assert loaded.annotator.backend == "embedding" and loaded.config.annotator == f"openai:{server.url}#m"
        assert "not an LLM" in explained["explanation"] or "none of the 9" in explained["explanation"]
        np.testing.assert_allclose(probabilities, DorisPipeline.from_pretrained(doris_folder).predict_proba(users))
        offline = DorisPipeline.from_pretrained(evil, annotator="embedding")  # the offline one, asked for by name
        np.testing.assert_allclose(offline.predict_proba(users), probabilities)
        # the caller asks for the backend explicitly: then, and only then, it is called
        chosen = DorisPipeline.from_pretrained(evil, annotator=f"openai:{server.url}#m")
        chosen.explain(users[0])
        assert server.prompts


def test_a_saved_embedder_path_outside_the_folder_is_not_loaded(doris_folder, tiny_sentence_transformer, cohort,
                                                                 tmp_path):
    users = balanced_users(cohort["test"], 2, depressed=1)
    outside = copy_with_config(doris_folder, tmp_path, embedder=tiny_sentence_transformer)
    loaded = DorisPipeline.from_pretrained(outside)
    with pytest.raises(ValueError, match="a path outside the pipeline folder"):
        loaded.predict_proba(users)
    climbing = tmp_path / "climb"
    shutil.copytree(outside, climbing)
    config = json.loads((climbing / "doris_config.json").read_text())
    config["embedder"] = f"../{Path(tiny_sentence_transformer).name}"
    (climbing / "doris_config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="outside the pipeline folder"):
        DorisPipeline.from_pretrained(climbing).predict_proba(users)
    from depdetect.doris import SentenceTransformerEmbedder

    explicit = DorisPipeline.from_pretrained(outside, embedder=SentenceTransformerEmbedder(tiny_sentence_transformer))
    assert explicit.predict_proba(users).shape == (2,)


def test_saved_configs_cards_and_metrics_hold_no_local_paths(tmp_path, tiny_encoder_dir, posts_files):
    out = tmp_path / "run"
    main(hybrid_args(tiny_encoder_dir, posts_files, out, "--max_steps", "2", "--checkpointing_steps", "0"))
    home = str(Path.home())
    for name in ("config.json", "metrics.json", "README.md", "tokenizer_config.json"):
        text = (out / name).read_text()
        for local in (tiny_encoder_dir, str(Path(posts_files["train"]).parent), sys.prefix, home + "/"):
            assert local not in text, f"{name} holds the local path {local}"
    modes = {p.name: p.stat().st_mode & 0o777 for p in out.iterdir() if p.is_file()}
    assert len(set(modes.values())) == 1, modes  # model.safetensors as every other file


# -- 2. publishing reads only regular files inside the folder, and no pickle --------------------------------------


@pytest.fixture(scope="module")
def hybrid_folder(tmp_path_factory, tiny_encoder_dir, posts_files) -> Path:
    out = tmp_path_factory.mktemp("hybrid") / "hybrid"
    main(hybrid_args(tiny_encoder_dir, posts_files, out, "--max_steps", "2", "--checkpointing_steps", "0"))
    return out


def push_with_a_hub(folder: Path, tmp_path: Path):
    """`depdetect push FOLDER tester/x` in a fresh process against the Hub test server: (result, requests)."""
    import os
    import subprocess

    with HubServer() as hub:
        env = {**os.environ, **hub.client_env(str(tmp_path / "home"))}
        done = subprocess.run([sys.executable, "-m", "depdetect.cli", "push", str(folder), "tester/x"], env=env,
                              capture_output=True, text=True, timeout=300)
        return done, list(hub.requests)


PICKLE = b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01."  # the integer 1, pickled (protocol 4)


@pytest.mark.parametrize("plant, message", [
    (lambda f, outside: (f / "notes.txt").symlink_to(outside), "notes.txt (a symbolic link to somewhere outside"),
    (lambda f, _: (f / "EVIL.PKL").write_bytes(PICKLE), "EVIL.PKL (a pickle-format suffix)"),
    (lambda f, _: (f / "extra.dat").write_bytes(PICKLE), "extra.dat (pickle data)"),
    (lambda f, _: (f / "optimizer.json").write_bytes(PICKLE), "optimizer.json (pickle data)"),
    (lambda f, _: (f / "model.safetensors").write_bytes(PICKLE), "model.safetensors (pickle data)"),
    (lambda f, _: (f / "model.safetensors").write_bytes(b"\x10" + b"\x00" * 7 + b"{}garbage"), "not a safetensors"),
    (lambda f, _: (f / "old.txt").write_bytes(b"(lp0\nI1\na."), "old.txt (pickle data (protocol 0/1))"),
])
def test_symlinks_and_disguised_pickles_are_refused_with_zero_requests(hybrid_folder, tmp_path, plant, message,
                                                                       capsys):
    folder = tmp_path / "folder"
    shutil.copytree(hybrid_folder, folder)
    secret = tmp_path / "secret.txt"
    secret.write_text("the user's private notes")
    plant(folder, secret)
    done, requests = push_with_a_hub(folder, tmp_path)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert requests == []


def test_a_symlink_inside_the_folder_publishes_only_with_the_flag(hybrid_folder, tmp_path):
    from depdetect.hub import publishable_files

    folder = tmp_path / "folder"
    shutil.copytree(hybrid_folder, folder)
    (folder / "card_copy.md").symlink_to(folder / "README.md")
    with pytest.raises(ValueError, match="symbolic link to a file inside the folder"):
        publishable_files(folder)
    assert "card_copy.md" in publishable_files(folder, follow_symlinks=True)


# -- 3. one run owns one output folder ----------------------------------------------------------------------------


def test_another_runs_folder_is_refused_and_overwrite_clears_it(tiny_encoder_dir, posts_files, tmp_path, capsys):
    out = tmp_path / "out"
    common = ["--max_steps", "2", "--checkpointing_steps", "0"]
    run_a = main(hybrid_args(tiny_encoder_dir, posts_files, out, *common)).metrics["run_id"]
    again = main(hybrid_args(tiny_encoder_dir, posts_files, out, *common)).metrics["run_id"]  # same run: fine
    assert again == run_a
    other = {**posts_files, "train": posts_files["validation"], "validation": posts_files["train"]}
    with pytest.raises(SystemExit) as exit_:
        main(hybrid_args(tiny_encoder_dir, other, out, *common))
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and f"already holds run {run_a}" in err and "--overwrite_output_dir" in err
    run_b = main(hybrid_args(tiny_encoder_dir, other, out, *common, "--overwrite_output_dir")).metrics["run_id"]
    assert run_b != run_a and json.loads((out / "metrics.json").read_text())["run_id"] == run_b
    # a folder with files depdetect did not write is never cleared (text and code files of the user's included)
    for name in ("thesis.docx", "notes.txt", "analysis.py"):
        (out / name).write_bytes(b"mine")
    with pytest.raises(SystemExit):
        main(hybrid_args(tiny_encoder_dir, posts_files, out, *common, "--overwrite_output_dir"))
    assert "holds files depdetect did not write (analysis.py, notes.txt, thesis.docx)" in capsys.readouterr().err
    assert all((out / name).read_bytes() == b"mine" for name in ("thesis.docx", "notes.txt", "analysis.py"))


def test_a_run_killed_while_saving_leaves_nothing_mixed_and_cannot_be_pushed(tiny_encoder_dir, posts_files, tmp_path,
                                                                            monkeypatch, capsys):
    out = tmp_path / "out"
    common = ["--max_steps", "2", "--checkpointing_steps", "0"]
    main(hybrid_args(tiny_encoder_dir, posts_files, out, *common))
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    other = {**posts_files, "train": posts_files["validation"], "validation": posts_files["train"]}

    import depdetect.training

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies after save_pretrained, before metrics and card

    monkeypatch.setattr(depdetect.training, "artifact_hashes", killed)
    with pytest.raises(KeyboardInterrupt):
        main(hybrid_args(tiny_encoder_dir, other, out, *common, "--overwrite_output_dir"))
    monkeypatch.undo()
    # run A's output was cleared by --overwrite_output_dir; none of run B's files landed, nor the temporary folder
    assert not list(tmp_path.glob(".out.saving-*"))
    assert not any((out / name).exists() for name in ("model.safetensors", "config.json", "metrics.json", "README.md"))
    done, requests = push_with_a_hub(out, tmp_path)
    assert done.returncode == 2 and "a training run that did not finish" in done.stderr and requests == []
    # the mixed folder of the finding, made by hand: B's weights beside A's metrics and card
    main(hybrid_args(tiny_encoder_dir, other, out, *common, "--overwrite_output_dir"))
    (out / "metrics.json").write_bytes(before["metrics.json"])
    done, requests = push_with_a_hub(out, tmp_path)
    assert done.returncode == 2 and requests == []
    assert "does not describe the files beside it: config.json, model.safetensors" in done.stderr


# -- 4. a stale checkpoint of another run is refused -------------------------------------------------------------


def test_a_stale_checkpoint_of_another_run_is_refused(tiny_encoder_dir, posts_files, tmp_path, capsys):
    common = ["--num_epochs", "2", "--checkpointing_steps", "2", "--keep_checkpoints_after_training"]
    run_a = main(hybrid_args(tiny_encoder_dir, posts_files, tmp_path / "a", *common)).metrics["run_id"]
    checkpoint = sorted((tmp_path / "a" / "checkpoints").glob("step_*"))[-1]
    other = {**posts_files, "train": posts_files["validation"], "validation": posts_files["train"]}
    # run B resumes in run A's folder: refused, naming both
    with pytest.raises(SystemExit):
        main(hybrid_args(tiny_encoder_dir, other, tmp_path / "a", *common, "--resume_from_checkpoint", "latest"))
    err = capsys.readouterr().err
    assert f"Cannot resume in {tmp_path / 'a'}: it holds run {run_a}" in err
    # run B points at run A's checkpoint from its own folder: refused by the checkpoint's run id
    with pytest.raises(SystemExit):
        main(hybrid_args(tiny_encoder_dir, other, tmp_path / "b", *common, "--resume_from_checkpoint",
                         str(checkpoint)))
    err = capsys.readouterr().err
    assert f"Checkpoint {checkpoint} belongs to run {run_a}, not to this run" in err


# -- 5. a failed save leaves the previous folder whole -----------------------------------------------------------


def test_a_full_disk_save_leaves_the_old_doris_folder_loadable(doris_folder, tiny_embedder, cohort, tmp_path,
                                                               monkeypatch):
    folder = tmp_path / "doris"
    shutil.copytree(doris_folder, folder)
    users = balanced_users(cohort["test"], 4, depressed=1)
    old = DorisPipeline.from_pretrained(folder).predict_proba(users)
    other = DorisPipeline(doris_config(k=50), embedder=tiny_embedder).fit(balanced_users(cohort["train"], 40))

    import depdetect.doris.pipeline

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(depdetect.doris.pipeline, "write_json", full_disk)  # after config and trees are written
    with pytest.raises(OSError, match="No space left"):
        other.save_pretrained(folder, metrics={"test": {}})
    monkeypatch.undo()
    np.testing.assert_array_equal(DorisPipeline.from_pretrained(folder).predict_proba(users), old)
    assert not list(tmp_path.glob(".doris.saving-*"))


def test_a_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    import os

    from depdetect.utils import write_json

    path = tmp_path / "metrics.json"
    write_json(path, {"f1": 0.5})

    def fail(*args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        write_json(path, {"f1": 0.9})
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"f1": 0.5} and [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


# -- 6. the OpenAI-compatible client ------------------------------------------------------------------------------


class RawServer:
    """A socket server answering each request with `reply(attempt, connection)` (raw bytes: truncations, drips)."""

    def __init__(self, reply):
        self.reply, self.attempts = reply, 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self.stopped = False

    def serve(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def handle(self, conn):
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = int([h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")][0].split(b":")[1])
            while len(body) < length:
                body += conn.recv(65536)
            self.attempts += 1
            try:
                self.reply(self.attempts, conn)
            except OSError:
                pass

    def __enter__(self):
        threading.Thread(target=self.serve, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.stopped = True
        self.sock.close()


def completion(text: str) -> bytes:
    return json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}).encode()


def http(body: bytes, status: str = "200 OK", headers: str = "", length: int | None = None) -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: "
            f"{len(body) if length is None else length}\r\n{headers}Connection: close\r\n\r\n").encode() + body


def test_a_truncated_body_is_retried():
    from depdetect.doris import OpenAIAnnotator

    def reply(attempt, conn):
        body = completion("(A)")
        conn.sendall(http(body[:10], length=len(body)) if attempt == 1 else http(body))  # cut mid-way, then whole

    with RawServer(reply) as server:
        assert OpenAIAnnotator(server.url, "m", backoff=0.01).annotate(["post"]) == [["A"]]
        assert server.attempts == 2


def test_a_slow_drip_is_cut_at_the_total_deadline():
    from depdetect.doris import OpenAIAnnotator

    def reply(attempt, conn):
        body = completion("(A)")
        conn.sendall(http(b"", length=len(body)))
        for byte in body:  # one byte every 0.2 s: each read is quick, the whole takes ~6 s
            conn.sendall(bytes([byte]))
            time.sleep(0.2)

    with RawServer(reply) as server:
        annotator = OpenAIAnnotator(server.url, "m", timeout=1.0, max_retries=1, backoff=0.01)
        start = time.monotonic()
        with pytest.raises(RuntimeError, match="did not answer after 2 attempts .no complete answer within the 1 s"):
            annotator.annotate(["post"])
        assert time.monotonic() - start < 3.5  # two attempts of at most ~1 s each, not two drips of ~6 s


def test_retry_after_is_honoured_and_capped():
    from depdetect.doris import OpenAIAnnotator

    def reply(attempt, conn):
        conn.sendall(http(b"", "429 Too Many Requests", "Retry-After: 1\r\n") if attempt == 1
                     else http(completion("(B)")))

    with RawServer(reply) as server:
        start = time.monotonic()
        assert OpenAIAnnotator(server.url, "m", backoff=0.0).annotate(["post"]) == [["B"]]
        assert time.monotonic() - start >= 1.0  # waited as told, not the (zero) back-off
    with RawServer(lambda attempt, conn: conn.sendall(
            http(b"", "503 Busy", "Retry-After: 3600\r\n") if attempt == 1 else http(completion("(B)")))) as server:
        start = time.monotonic()
        assert OpenAIAnnotator(server.url, "m", max_retry_after=0.2).annotate(["post"]) == [["B"]]
        assert time.monotonic() - start < 2  # capped at max_retry_after, not an hour


# -- 7. an unreadable answer is never cached -------------------------------------------------------------------


def test_a_poisoned_answer_is_not_cached_and_is_asked_again(tiny_embedder, cohort, tmp_path):
    from depdetect.doris import OpenAIAnnotator

    users = balanced_users(cohort["train"], 30)
    proxy_down = {"on": True}
    with ChatServer(lambda prompt, attempt: "(A)") as server:
        answer = server.httpd.RequestHandlerClass.do_POST

        def do_post(handler):  # while the proxy is down it answers 200 with an HTML page, not a completion
            if not proxy_down["on"]:
                return answer(handler)
            handler.rfile.read(int(handler.headers["Content-Length"]))
            server.prompts.append("(proxy page)")
            page = b"<html>Bad gateway (proxy)</html>"
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html")
            handler.send_header("Content-Length", str(len(page)))
            handler.end_headers()
            handler.wfile.write(page)

        server.httpd.RequestHandlerClass.do_POST = do_post
        cache = tmp_path / "cache"

        def run():
            annotator = OpenAIAnnotator(server.url, "m", max_retries=1, backoff=0.0)
            doris = DorisPipeline(doris_config(), embedder=tiny_embedder, annotator=annotator, cache_dir=cache)
            return doris.fit(users)

        first = run()
        assert first.stats["unparseable_answers"] > 0 and len(server.prompts) > 0
        cached = [json.loads(line)["value"] for path in cache.glob("annotations.rank*.jsonl")
                  for line in path.read_text().splitlines()]
        assert cached == []  # nothing unreadable was kept
        proxy_down["on"] = False
        second = run()
        asked = server.annotation_prompts()
        assert asked and len(asked) == len(set(asked))  # every annotated text asked again, once
        assert second.stats["unparseable_answers"] == 0 and second.stats["posts_annotated"] > 0
        run()
        assert server.annotation_prompts() == asked  # now they are cached: nothing asked a third time


def test_the_memory_store_without_a_cache_dir_is_bounded(tiny_embedder, cohort):
    doris = DorisPipeline(doris_config(), embedder=tiny_embedder, memory_size=50)
    doris.fit(balanced_users(cohort["train"], 40))
    assert len(doris.caches.memory) == 50
    assert doris.predict_proba(balanced_users(cohort["test"], 6, depressed=1)).shape == (6,)


# -- validation where input enters --------------------------------------------------------------------------------


def test_labels_must_match_users_one_to_one(tiny_embedder, cohort):
    users = balanced_users(cohort["train"], 20)
    labels = [u["label"] for u in users]
    for bad, expected in ((labels * 2, "holds 40 entries"), (labels[:-3], "holds 17 entries"),
                          ([[y, y] for y in labels], r"shape \(20, 2\)"), ("01" * 10, "got str")):
        start = time.monotonic()
        with pytest.raises(ValueError, match=expected):
            DorisPipeline(doris_config(), embedder=tiny_embedder).fit(users, labels=bad)
        assert time.monotonic() - start < 2  # before any featurisation


def test_doris_needs_a_stated_minimum_of_users_per_class(tiny_embedder, cohort):
    users = balanced_users(cohort["train"], 30, depressed=4)
    with pytest.raises(ValueError, match="at least 5 users of each class; the training users hold 26 control and 4"):
        DorisPipeline(doris_config(), embedder=tiny_embedder).fit(users)


@pytest.mark.parametrize("text, message", [
    ("\u200b\u200b", "zero-width"), ("\x00\x07 \t", "control"), ("\ud83d sad", r"lone surrogate \(U\+D83D"),
    ("\u00ad", "zero-width"),
])
def test_invisible_and_broken_texts_are_refused_everywhere(tiny_model, tokenizer, text, message):
    from depdetect import DepressionDetectionPipeline
    from depdetect.dual_encoder.pipeline_dual_encoder import check_interview
    from depdetect.hybrid.pipeline_hybrid import check_text

    with pytest.raises(ValueError, match=message):
        DepressionDetectionPipeline(model=tiny_model, tokenizer=tokenizer)(text)
    with pytest.raises(ValueError, match=message):
        check_interview([{"prompt": "How are you?", "response": text}])
    with pytest.raises(ValueError, match=message):
        check_text(text, "post")


def test_tuples_behave_like_lists_and_misspelt_keywords_raise(tiny_model, tokenizer):
    from depdetect import DepressionDetectionPipeline

    detector = DepressionDetectionPipeline(model=tiny_model, tokenizer=tokenizer)
    texts = ("I cannot sleep", "A lovely walk")
    assert detector(texts) == detector(list(texts))
    with pytest.raises(TypeError, match="max_lenght"):
        detector(texts, max_lenght=8)


def test_absurd_sizes_and_lengths_are_refused_before_allocating():
    from depdetect import DualEncoderConfig, HybridConfig

    start = time.monotonic()
    with pytest.raises(ValueError, match="num_hidden_layers` is 100000"):
        HybridConfig(encoder_config={"model_type": "bert", "num_hidden_layers": 100_000})
    with pytest.raises(ValueError, match="100000, above the 32"):
        HybridConfig(lstm_num_layers=100_000)
    with pytest.raises(ValueError, match=r"`max_length` \(1024\) exceeds the encoder's 512 positions"):
        HybridConfig(max_length=1024)
    with pytest.raises(ValueError, match="exceeds the prefix encoder's 512 positions"):
        DualEncoderConfig(max_turn_length=600)
    assert time.monotonic() - start < 1


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_bad_learning_rates_are_refused(value, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "hybrid", "--learning_rate", value])
    assert exit_.value.code == 2 and "learning_rate" in capsys.readouterr().err


def test_one_class_and_shared_split_files(tiny_encoder_dir, posts_files, tmp_path, capsys, caplog):
    import pandas as pd

    frame = pd.read_csv(posts_files["train"])
    one = tmp_path / "one.csv"
    frame[frame["label"] == 0].to_csv(one, index=False)
    with pytest.raises(SystemExit):
        main(hybrid_args(tiny_encoder_dir, {**posts_files, "train": str(one)}, tmp_path / "x"))
    assert "training needs at least 1 of every class (depression short)" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    same = {**posts_files, "test": posts_files["train"]}
    main(hybrid_args(tiny_encoder_dir, same, tmp_path / "leak", "--max_steps", "1", "--checkpointing_steps", "0"))
    assert "The train and test splits are the same file" in caplog.text


# -- tests run everywhere ---------------------------------------------------------------------------------------


def test_a_test_that_skips_for_missing_data_turns_the_run_red(tmp_path):
    import os
    import subprocess

    (tmp_path / "test_needs_data.py").write_text(
        "import pytest\n\ndef test_real_data():\n    pytest.skip('/somewhere/shared/data/x.csv is not available')\n\n"
        "def test_optional_package():\n    pytest.skip('pip install gguf to run this test')\n"
    )
    root = Path(__file__).resolve().parents[1]
    argv = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p", "tests.conftest",
            str(tmp_path / "test_needs_data.py")]
    done = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(root)})
    assert done.returncode == 1, done.stdout[-2000:]
    assert "1 test(s) skipped for missing data" in done.stdout and "test_real_data" in done.stdout
    assert "test_optional_package:" not in done.stdout.split("skipped for missing data")[1]


# -- second round (issue 23, finding 8): what still ended in a library's traceback or message --------------------


def refused_line(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "Traceback" not in err
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize("system", ["hybrid", "dual-encoder", "doris"])
def test_an_encoder_path_that_does_not_exist_is_named_not_taken_for_a_hub_id(tmp_path, capsys, system):
    line = refused_line(["train", system, "--encoder", str(tmp_path / "no" / "such"), "--output_dir",
                         str(tmp_path / "out")], capsys)
    assert "`encoder`" in line and "no such folder" in line


def test_an_empty_training_file_is_named(tmp_path, capsys):
    path = tmp_path / "empty.csv"
    path.write_text("text,label\n")
    line = refused_line(["train", "hybrid", "--train_file", str(path), "--output_dir", str(tmp_path / "o")], capsys)
    assert str(path) in line and "holds no rows" in line


def test_too_few_rows_to_carve_stratified_splits_says_what_to_pass(tmp_path, capsys):
    path = tmp_path / "seven.csv"
    path.write_text("text,label\n" + "".join(f"post number {i},{i % 2}\n" for i in range(7)))
    line = refused_line(["train", "hybrid", "--train_file", str(path), "--output_dir", str(tmp_path / "o")], capsys)
    assert "too few" in line and "--validation_file" in line


@pytest.mark.parametrize("value", ["0", "-5", "many"])
def test_simulated_cohort_sizes_are_checked_by_the_argument_parser(tmp_path, capsys, value):
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "rmhd-users", str(tmp_path / "o"), "--users", value])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "--users" in err and "Traceback" not in err


def test_a_small_simulated_cohort_has_both_classes_in_every_split():
    from depdetect.doris.data import rmhd_user_cohort

    data = rmhd_user_cohort(num_users=10, seed=0)
    assert all(0 < sum(split["label"]) < len(split) for split in data.values())


def test_doris_reads_users_from_a_dataframe(models, cohort):
    import pandas as pd

    pipeline = DorisPipeline.from_pretrained(models["doris"])
    users = cohort["test"].select(range(4))
    frame = pd.DataFrame(users.to_list())
    assert np.allclose(pipeline.predict_proba(frame), pipeline.predict_proba(users))
    with pytest.raises(ValueError, match="users must be"):
        pipeline.predict_proba("user-1")


def test_a_json_lines_record_nested_too_deep_is_named(tmp_path, models, capsys):
    path = tmp_path / "deep.jsonl"
    path.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    line = refused_line(["predict", str(models["hybrid"]), str(path)], capsys)
    assert "deep.jsonl:1" in line and "too deeply" in line
