"""Bad inputs, faults and misuses against depdetect's entry points: what happens to each.

    python bench/misuse.py [--out results.json] [--only PREFIX]

Every case feeds one bad input (or fault, or misuse) to one entry point and says what a careful user expects:
`refuse` (a clear error naming the bad input) or `accept` (it works, checked). Each outcome is put in one class:

  clear        refused with a ValueError-like error (or `error:` line, exit 2) whose message names the input
  handled      an `accept` case that worked and passed its check
  silent       no error where one was due, or a wrong result (the worst class: nobody notices)
  traceback    an exception of another kind (KeyError, AttributeError, ...) or a message that does not name the input
  hang         no answer within the case's time limit
  data loss    a file the command read (an input, a model) changed, whatever the command said

The cases use only APIs that existed before the hardening issue, so the same file runs against the previous
commit: `PYTHONPATH=/path/to/old/checkout python bench/misuse.py` (the tiny models and data are built here, in a
temporary folder; nothing outside it is read except the bundled RMHD sample). Prints a table by entry point;
asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402

import depdetect  # noqa: E402

CLEAR_TYPES = (ValueError, FileNotFoundError, PermissionError, NotADirectoryError, IsADirectoryError, TypeError,
               RuntimeError, UnicodeDecodeError)
PICKLE = b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00K\x01."


class Hang(Exception):
    pass


class Uploaded(Exception):
    """Raised by the stand-in HfApi: the package tried to upload."""


CASES: list[tuple[str, str, str, object, tuple[str, ...], float]] = []


def case(entry: str, name: str, expect: str, names: tuple[str, ...] = (), limit: float = 60.0):
    """Register a case. `names`: words the error must contain to name the bad input (any of them)."""

    def register(fn):
        CASES.append((entry, name, expect, fn, names, limit))
        return fn

    return register


# -- fixtures built here --------------------------------------------------------------------------------------------

W = Path(tempfile.mkdtemp(prefix="misuse-"))


def once(fn):
    value = {}

    def get():
        if "v" not in value:
            value["v"] = fn()
        return value["v"]

    return get


@once
def tokenizer_dir() -> str:
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from depdetect.utils import default_encoder_path

    path = W / "tiny_encoder"
    tok = AutoTokenizer.from_pretrained(default_encoder_path())
    torch.manual_seed(0)
    BertModel(BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                         vocab_size=tok.vocab_size)).save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


@once
def sentence_transformer() -> str:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

    path = W / "tiny_st"
    transformer = Transformer(tokenizer_dir(), max_seq_length=64)
    SentenceTransformer(modules=[transformer, Pooling(transformer.get_embedding_dimension(), "mean")]).save(str(path))
    return str(path)


@once
def detector():
    from transformers import AutoTokenizer

    from depdetect import DepressionDetectionPipeline, HybridForSequenceClassification

    model = HybridForSequenceClassification.from_encoder(tokenizer_dir(), lstm_hidden_size=8, cnn_num_filters=4,
                                                         fc_hidden_size=16).eval()
    return DepressionDetectionPipeline(model=model, tokenizer=AutoTokenizer.from_pretrained(tokenizer_dir()))


@once
def scorer():
    from transformers import AutoTokenizer

    from depdetect import DepressionScoringPipeline, DualEncoderForDepressionScoring

    model = DualEncoderForDepressionScoring.from_encoders(tokenizer_dir(), prefix_length=2, projection_size=8,
                                                          lstm_hidden_size=4, max_turn_length=32).eval()
    return DepressionScoringPipeline(model=model, tokenizer=AutoTokenizer.from_pretrained(tokenizer_dir()))


@once
def posts_files() -> dict[str, str]:
    import pandas as pd

    from depdetect.data import RMHD_CONTROL_SUBREDDITS, rmhd_csv_path

    frame = pd.read_csv(rmhd_csv_path(), usecols=["subreddit", "post"]).dropna()
    frame = frame[frame["post"].str.split().str.len().between(5, 60)]
    frame = frame[frame["subreddit"].isin(("depression", *RMHD_CONTROL_SUBREDDITS))]
    frame = frame.assign(text=frame["post"].map(lambda t: " ".join(t.split())),
                         label=(frame["subreddit"] == "depression").astype(int))
    sample = pd.concat([g.sample(20, random_state=0) for _, g in frame.groupby("label")])
    sample = sample.sample(frac=1, random_state=0)
    files = {}
    for name, part in (("train", sample.iloc[:24]), ("validation", sample.iloc[24:32]), ("test", sample.iloc[32:40])):
        files[name] = str(W / f"{name}.csv")
        part[["text", "label"]].to_csv(files[name], index=False)
    return files


def train_argv(out, files=None, *extra) -> list[str]:
    files = files or posts_files()
    return ["train", "hybrid", "--encoder", tokenizer_dir(), "--train_file", files["train"], "--validation_file",
            files["validation"], "--test_file", files["test"], "--output_dir", str(out), "--lstm_hidden_size", "8",
            "--cnn_num_filters", "4", "--fc_hidden_size", "16", "--batch_size", "8", "--max_length", "32",
            "--show_examples", "0", *extra]


@once
def trained_folder() -> Path:
    out = W / "trained"
    cli(train_argv(out, None, "--max_steps", "2", "--checkpointing_steps", "0"))
    return out


@once
def cohort():
    from depdetect.doris.data import rmhd_user_cohort

    return rmhd_user_cohort(num_users=200, seed=3)


def users(split: str, n: int, depressed: int = 5) -> list[dict]:
    rows = cohort()[split].to_list()
    positive = [u for u in rows if u["label"] == 1][:depressed]
    return positive + [u for u in rows if u["label"] == 0][: n - len(positive)]


@once
def embedder():
    from depdetect.doris import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(sentence_transformer())


def doris_config(**kw):
    return depdetect.DorisConfig(xgboost={"n_estimators": 10, "max_depth": 3, "learning_rate": 0.3}, **kw)


@once
def doris_folder() -> Path:
    folder = W / "doris"
    pipeline = depdetect.DorisPipeline(doris_config(), embedder=embedder()).fit(users("train", 60))
    pipeline.save_pretrained(folder)
    return folder


def load_doris(folder):
    """from_pretrained with the embedder passed explicitly (both versions load it so)."""
    return depdetect.DorisPipeline.from_pretrained(folder, embedder=embedder())


def cli(argv: list[str]):
    from depdetect.cli import main

    return main(argv)


# -- the cases ------------------------------------------------------------------------------------------------------

TEXTS = [("empty string", ""), ("whitespace only", "   \n\t"), ("None", None), ("an int", 42),
         ("zero-width characters only", "\u200b\u200b\ufeff"), ("control characters only", "\x00\x07\x1b"),
         ("soft hyphen only", "\u00ad"), ("a lone surrogate", "\ud83d I feel sad")]
for label, value in TEXTS:
    case("hybrid pipeline", f"text: {label}", "refuse", ("text", "inputs", "string", "surrogate"))(
        lambda value=value: detector()(value))
case("hybrid pipeline", "empty list", "refuse", ("empty",))(lambda: detector()([]))
case("hybrid pipeline", "list with one empty text", "refuse", ("inputs[1]",))(lambda: detector()(["I feel sad", ""]))
case("hybrid pipeline", "misspelt keyword max_lenght", "refuse", ("max_lenght",))(
    lambda: detector()("I feel sad", max_lenght=8))


@case("hybrid pipeline", "a tuple of texts", "accept")
def _():
    texts = ("I cannot sleep", "A lovely walk")
    return detector()(texts) == detector()(list(texts))


TURN = {"prompt": "How are you?", "response": "Tired."}
for label, interview in [("no turns", {"turns": []}), ("turns not a list", {"turns": "hello"}),
                         ("zero-width response", {"turns": [{"prompt": "Hi", "response": "\u200b"}]}),
                         ("control-character response", {"turns": [{"prompt": "Hi", "response": "\x00\x01"}]}),
                         ("lone surrogate in a prompt", {"turns": [{"prompt": "\udc80", "response": "fine"}]}),
                         ("importance 2", {"turns": [{**TURN, "importance": 2}]}),
                         ("response None", {"turns": [{"prompt": "Hi", "response": None}]})]:
    case("dual-encoder pipeline", label, "refuse", ("turn", "interview", "response", "importance", "prompt"))(
        lambda interview=interview: scorer()(interview))
case("dual-encoder pipeline", "misspelt keyword batchsize", "refuse", ("batchsize",))(
    lambda: scorer()({"turns": [TURN]}, batchsize=2))


@case("dual-encoder pipeline", "turns as a tuple", "accept")
def _():
    return scorer()({"turns": (TURN,)}) == scorer()({"turns": [TURN]})


def config_case(name, make, names):
    case("model configs", name, "refuse", names, limit=20)(make)


config_case("Hybrid max_length above the encoder's 512 positions", lambda: depdetect.HybridConfig(max_length=1024),
            ("max_length",))
config_case("Hybrid 100,000 BiLSTM layers", lambda: depdetect.HybridConfig(lstm_num_layers=100_000),
            ("lstm_num_layers",))
config_case("Hybrid encoder of 100,000 layers", lambda: depdetect.HybridConfig(
    encoder_config={"model_type": "bert", "num_hidden_layers": 100_000}), ("layers", "encoder_config"))
config_case("Hybrid kernel wider than max_length",
            lambda: depdetect.HybridConfig(cnn_kernel_sizes=[3, 500], max_length=64), ("cnn_kernel_sizes",))
config_case("dual encoder 100,000 BiLSTM layers", lambda: depdetect.DualEncoderConfig(lstm_num_layers=100_000),
            ("lstm_num_layers",))
config_case("dual encoder prefix of 100,000 vectors", lambda: depdetect.DualEncoderConfig(prefix_length=100_000),
            ("prefix_length",))


for value in ("nan", "inf", "-1"):
    case("depdetect train", f"--learning_rate {value}", "refuse", ("learning_rate",))(
        lambda value=value: cli(train_argv(W / "lr", None, "--learning_rate", value)))


@case("depdetect train", "training file of one class", "refuse", ("class",))
def _():
    import pandas as pd

    frame = pd.read_csv(posts_files()["train"])
    path = W / "one_class.csv"
    frame[frame["label"] == 0].to_csv(path, index=False)
    return cli(train_argv(W / "one", {**posts_files(), "train": str(path)}, "--class_weights", "none",
                          "--max_steps", "1"))


@case("depdetect train", "training texts of zero-width characters", "refuse", ("text",))
def _():
    import pandas as pd

    frame = pd.read_csv(posts_files()["train"])
    frame.loc[2, "text"] = "\u200b\u200b"
    path = W / "zero_width.csv"
    frame.to_csv(path, index=False)
    return cli(train_argv(W / "zw", {**posts_files(), "train": str(path)}, "--max_steps", "1"))


@case("depdetect train", "the same file as train and test (leakage)", "accept")
def _():
    import logging

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger("depdetect").addHandler(handler)
    try:
        with contextlib.redirect_stderr(stream):
            cli(train_argv(W / "leak", {**posts_files(), "test": posts_files()["train"]}, "--max_steps", "1",
                           "--checkpointing_steps", "0"))
    finally:
        logging.getLogger("depdetect").removeHandler(handler)
    return "same file" in stream.getvalue()


@case("depdetect train", "training into another run's output folder", "refuse", ("output_dir", "run"))
def _():
    out = W / "shared_out"
    cli(train_argv(out, None, "--max_steps", "1", "--checkpointing_steps", "0"))
    files = posts_files()
    other = {**files, "train": files["validation"], "validation": files["train"]}
    return cli(train_argv(out, other, "--max_steps", "1", "--checkpointing_steps", "0"))


@case("depdetect train", "resuming another run's checkpoint", "refuse", ("checkpoint", "run"))
def _():
    out = W / "stale"
    cli(train_argv(out, None, "--num_epochs", "1", "--checkpointing_steps", "1", "--keep_checkpoints_after_training"))
    files = posts_files()
    other = {**files, "train": files["validation"], "validation": files["train"]}
    return cli(train_argv(out, other, "--num_epochs", "2", "--checkpointing_steps", "1", "--resume_from_checkpoint",
                          "latest"))


case("depdetect train", "missing training file", "refuse", ("nope.csv",))(
    lambda: cli(train_argv(W / "m", {**posts_files(), "train": str(W / "nope.csv")})))


@case("depdetect train", "label 7 in the training file", "refuse", ("label",))
def _():
    import pandas as pd

    frame = pd.read_csv(posts_files()["train"])
    frame.loc[3, "label"] = 7
    path = W / "label7.csv"
    frame.to_csv(path, index=False)
    return cli(train_argv(W / "l7", {**posts_files(), "train": str(path)}))


@case("depdetect train", "saved config records no local path", "accept")
def _():
    text = "".join((trained_folder() / name).read_text() for name in ("config.json", "README.md", "metrics.json"))
    # the encoder's folder, the data files' folder (W/*.csv), the virtual environment; the local README's usage
    # snippet names the output folder itself on purpose (`depdetect push` writes the card afresh with the repo id)
    return tokenizer_dir() not in text and f"{W}/train.csv" not in text and sys.prefix not in text


@case("depdetect train", "saved files share one permission mode", "accept")
def _():
    return len({p.stat().st_mode & 0o777 for p in trained_folder().iterdir() if p.is_file()}) == 1


# -- DORIS ------------------------------------------------------------------------------------------------------------


def fit(users_, labels=None, **kw):
    return depdetect.DorisPipeline(doris_config(**kw), embedder=embedder()).fit(users_, labels=labels)


@case("DorisPipeline.fit", "labels: twice as many as users", "refuse", ("labels", "label"))
def _():
    u = users("train", 20)
    return fit(u, [x["label"] for x in u] * 2)


@case("DorisPipeline.fit", "labels: fewer than users", "refuse", ("labels", "label"), limit=10)
def _():
    u = users("train", 20)
    return fit(u, [x["label"] for x in u][:-3])


@case("DorisPipeline.fit", "labels: a string", "refuse", ("labels", "label"))
def _():
    return fit(users("train", 20), "01" * 10)


case("DorisPipeline.fit", "2 depressed users in 30", "refuse", ("users", "class"))(
    lambda: fit(users("train", 30, depressed=2)))
case("DorisPipeline.fit", "a user with no posts", "refuse", ("posts",))(
    lambda: fit([{"user_id": "x", "posts": [], "label": 1}] + users("train", 20)))
case("DorisPipeline.fit", "a post of zero-width characters", "refuse", ("post", "text"))(
    lambda: fit([{"user_id": "x", "posts": [{"text": "\u200b", "timestamp": None}], "label": 1}]
                + users("train", 20)))
case("DorisPipeline.fit", "a post with a lone surrogate", "refuse", ("post", "text", "surrogate"))(
    lambda: fit([{"user_id": "x", "posts": [{"text": "\ud83d", "timestamp": None}], "label": 1}]
                + users("train", 20)))
case("DorisPipeline.explain", "a list instead of one user", "refuse", ("user",))(
    lambda: load_doris(doris_folder()).explain(users("test", 2, 1)))


@case("DorisPipeline.from_pretrained", "config names a remote annotator (requests sent?)", "accept")
def _():
    server = ChatCounter()
    with server:
        folder = W / "doris_evil"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(doris_folder(), folder)
        config = json.loads((folder / "doris_config.json").read_text())
        config["annotator"] = f"openai:{server.url}#m"
        (folder / "doris_config.json").write_text(json.dumps(config))
        os.environ["OPENAI_API_KEY"] = "sk-secret"
        try:
            load_doris(folder).explain(users("test", 2, 1)[0])
        except Exception:  # noqa: BLE001 (what matters here is whether anything was sent)
            pass
        finally:
            os.environ.pop("OPENAI_API_KEY", None)
    return server.requests == 0


@case("DorisPipeline.from_pretrained", "config names an embedder path outside the folder", "refuse",
      ("embedder", "outside"))
def _():
    folder = W / "doris_outside"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(doris_folder(), folder)
    config = json.loads((folder / "doris_config.json").read_text())
    config["embedder"] = sentence_transformer()
    (folder / "doris_config.json").write_text(json.dumps(config))
    return depdetect.DorisPipeline.from_pretrained(folder).predict_proba(users("test", 2, 1))


@case("DorisPipeline.save_pretrained", "disk full while saving over a folder (old folder whole?)", "accept")
def _():
    import xgboost

    folder = W / "doris_full"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(doris_folder(), folder)
    probe = users("test", 4, 1)
    before = load_doris(folder).predict_proba(probe)
    files = {name: (folder / name).read_bytes() for name in ("doris_config.json", "xgboost_model.json")}
    other = fit(users("train", 40), k=50.0)
    original = xgboost.Booster.save_model

    def full(self, fname):
        raise OSError(28, "No space left on device")

    xgboost.Booster.save_model = full
    try:
        other.save_pretrained(folder)
    except OSError:
        pass
    finally:
        xgboost.Booster.save_model = original
    try:
        after = load_doris(folder).predict_proba(probe)
    except Exception:  # noqa: BLE001
        return False
    whole = all((folder / name).read_bytes() == data for name, data in files.items())  # not new config + old trees
    return whole and bool(np.array_equal(before, after))


@case("DORIS + OpenAI backend", "non-JSON 200 pages from a proxy (cached as answers?)", "accept", limit=120)
def _():
    from depdetect.doris import OpenAIAnnotator

    server = ChatCounter(html=True)
    cache = W / "poison_cache"
    shutil.rmtree(cache, ignore_errors=True)
    with server:
        annotator = OpenAIAnnotator(server.url, "m", max_retries=1, backoff=0.0)
        depdetect.DorisPipeline(doris_config(), embedder=embedder(), annotator=annotator, cache_dir=cache).fit(
            users("train", 30))
    values = [json.loads(line)["value"] for p in cache.glob("annotations.rank*.jsonl")
              for line in p.read_text().splitlines()]
    return None not in values


# -- the OpenAI-compatible client ------------------------------------------------------------------------------------


class ChatCounter:
    """A chat server counting requests; `html` answers 200 with an HTML page instead of a completion."""

    def __init__(self, html: bool = False, reply=None):
        self.html, self.reply, self.requests = html, reply, 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"
        self.stop = False

    def __enter__(self):
        threading.Thread(target=self.serve, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.stop = True
        self.sock.close()

    def serve(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def handle(self, conn):
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = int([h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")][0].split(b":")[1])
            while len(body) < length:
                body += conn.recv(65536)
            self.requests += 1
            try:
                if self.reply is not None:
                    self.reply(self.requests, conn)
                elif self.html:
                    conn.sendall(raw(b"<html>Bad gateway</html>", content_type="text/html"))
                else:
                    conn.sendall(raw(completion("(A)")))
            except OSError:
                pass


def completion(text: str) -> bytes:
    return json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}]}).encode()


def raw(body: bytes, status: str = "200 OK", headers: str = "", length: int | None = None,
        content_type: str = "application/json") -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: "
            f"{len(body) if length is None else length}\r\n{headers}Connection: close\r\n\r\n").encode() + body


def annotate_with(reply, **kw):
    from depdetect.doris import OpenAIAnnotator

    with ChatCounter(reply=reply) as server:
        return OpenAIAnnotator(server.url, "m", **kw).annotate(["post"])


@case("OpenAI-compatible client", "a body cut mid-way (retried?)", "accept")
def _():
    body = completion("(A)")
    out = annotate_with(lambda n, c: c.sendall(raw(body[:10], length=len(body)) if n == 1 else raw(body)),
                        backoff=0.01)
    return out == [["A"]]


@case("OpenAI-compatible client", "a server dripping one byte per 0.2 s, timeout 1 s", "refuse",
      ("deadline", "did not answer", "timed out"), limit=8)
def _():
    def drip(n, conn):
        body = completion("(A)") + b" " * 200
        conn.sendall(raw(b"", length=len(body)))
        for byte in body:
            conn.sendall(bytes([byte]))
            time.sleep(0.2)

    return annotate_with(drip, timeout=1.0, max_retries=0)


@case("OpenAI-compatible client", "429 with Retry-After: 2 (waited?)", "accept")
def _():
    start = time.monotonic()
    out = annotate_with(lambda n, c: c.sendall(raw(b"", "429 Too Many Requests", "Retry-After: 2\r\n") if n == 1
                                               else raw(completion("(B)"))), backoff=0.01)
    return out == [["B"]] and time.monotonic() - start >= 2.0


case("OpenAI-compatible client", "HTTP 401", "refuse", ("401",))(
    lambda: annotate_with(lambda n, c: c.sendall(raw(b"", "401 Unauthorized"))))
case("OpenAI-compatible client", "base_url ftp://host", "refuse", ("base_url",))(
    lambda: annotator_class()("ftp://host/v1", "m"))
case("OpenAI-compatible client", "an unreachable server", "refuse", ("did not answer",), limit=30)(
    lambda: annotator_class()("http://127.0.0.1:9/v1", "m", max_retries=1, backoff=0.01, timeout=2).annotate(
        ["post"]))


def annotator_class():
    from depdetect.doris import OpenAIAnnotator

    return OpenAIAnnotator


# -- publishing -------------------------------------------------------------------------------------------------------


def push_planted(plant, repo_id: str = "tester/x"):
    """`push_folder` of the trained folder with something planted in it; an upload attempt raises Uploaded."""
    import huggingface_hub

    from depdetect.hub import push_folder

    folder = W / "to_push"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(trained_folder(), folder)
    plant(folder)

    class NoUpload:
        def __init__(self, *args, **kwargs):
            raise Uploaded("the package went on to upload")

    original = huggingface_hub.HfApi
    huggingface_hub.HfApi = NoUpload
    try:
        return push_folder(folder, repo_id)
    finally:
        huggingface_hub.HfApi = original


def secret_link(folder):
    (W / "secret.txt").write_text("private notes")
    (folder / "notes.txt").symlink_to(W / "secret.txt")


def mixed(folder):
    other = W / "other_run"
    if not other.exists():
        files = posts_files()
        cli(train_argv(other, {**files, "train": files["validation"], "validation": files["train"]}, "--max_steps",
                       "1", "--checkpointing_steps", "0"))
    shutil.copy(other / "model.safetensors", folder / "model.safetensors")  # B's weights beside A's metrics


for label, plant, names in [
    ("a symlink to a file outside the folder", secret_link, ("notes.txt",)),
    ("EVIL.PKL (upper-case pickle suffix)", lambda f: (f / "EVIL.PKL").write_bytes(PICKLE), ("EVIL.PKL",)),
    ("pickle bytes named extra.dat", lambda f: (f / "extra.dat").write_bytes(PICKLE), ("extra.dat",)),
    ("pickle bytes named optimizer.json", lambda f: (f / "optimizer.json").write_bytes(PICKLE), ("optimizer.json",)),
    ("pickle bytes named model.safetensors", lambda f: (f / "model.safetensors").write_bytes(PICKLE),
     ("model.safetensors",)),
    ("a protocol-0 pickle named notes.txt", lambda f: (f / "notes.txt").write_bytes(b"(lp0\nI1\na."), ("notes.txt",)),
    ("weights of another run beside this run's metrics", mixed, ("metrics.json",)),
    ("no config.json", lambda f: (f / "config.json").unlink(), ("config.json", "not a trained")),
]:
    case("depdetect push", label, "refuse", names)(lambda plant=plant: push_planted(plant))
case("depdetect push", "repo id with '--'", "refuse", ("repo id",))(
    lambda: push_planted(lambda f: None, "a--b/c"))


# -- corpus converters ------------------------------------------------------------------------------------------------


def write(name: str, content) -> str:
    path = W / "corpora" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


GOOD_DIALOG = [{"speaker": "speaker", "content": "hi"}, {"speaker": "listener", "content": "hello"},
               {"speaker": "speaker", "content": "sad"}]


def dialogue(**kw):
    return {"emotion_type": "depression", "survey_score": {"seeker": {"initial_emotion_intensity": "4"}},
            "dialog": GOOD_DIALOG, **kw}


ESCONV = [
    ("not JSON", "{not json", ("e0.json",)),
    ("top level a dict", {"a": 1}, ("e1.json",)),
    ("a dialogue that is a string", ["x"], ("dialogue 0",)),
    ("dialog not a list", [dialogue(dialog="x")], ("dialog",)),
    ("utterance without speaker", [dialogue(dialog=[{"content": "hi"}])], ("speaker",)),
    ("utterance that is a string", [dialogue(dialog=["hi"])], ("utterance",)),
    ("survey_score a list", [dialogue(survey_score=[1])], ("survey_score",)),
    ("intensity 'high'", [dialogue(survey_score={"seeker": {"initial_emotion_intensity": "high"}})],
     ("initial_emotion_intensity",)),
    ("not UTF-8", b"\xff\xfe[", ("e8.json",)),
    ("missing file", None, ("e9.json",)),
]
for i, (label, content, names) in enumerate(ESCONV):
    case("depdetect data esconv", label, "refuse", names)(
        lambda i=i, content=content: cli(["data", "esconv", str(W / "corpora" / f"e{i}.json") if content is None
                                          else write(f"e{i}.json", content), str(W / "corpora" / f"out{i}")]))


def daic(name: str, header: str, row: str):
    root = W / "corpora" / name
    for split in ("train_split_Depression_AVEC2017.csv", "dev_split_Depression_AVEC2017.csv",
                  "full_test_split.csv"):
        write(f"{name}/{split}", f"{header}\n{row}\n")
    return str(root)


for label, header, row, names in [
    ("split file without Participant_ID", "Foo,PHQ8_Score", "1,3", ("Participant_ID",)),
    ("PHQ8_Score 'abc'", "Participant_ID,PHQ8_Score,PHQ8_Binary", "300,abc,1", ("PHQ8_Score",)),
    ("PHQ8_Binary 'x'", "Participant_ID,PHQ8_Score,PHQ8_Binary", "300,3,x", ("PHQ8_Binary",)),
]:
    case("depdetect data daic-woz", label, "refuse", names)(
        lambda label=label, header=header, row=row: cli(["data", "daic-woz", daic(label.split()[0] + str(len(row)),
                                                                                   header, row),
                                                         str(W / "corpora" / "daic_out")]))


for label, record, names in [
    ("a record that is a list", "[1, 2]", ("depressed.jsonl:1",)),
    ("a tweet that is a string", json.dumps({"tweets": ["hello"]}), ("tweet",)),
    ("not JSON", "{oops", ("depressed.jsonl:1",)),
    ("not UTF-8", None, ("depressed.jsonl",)),
]:
    def swdd(label=label, record=record):
        folder = W / "corpora" / ("swdd_" + label.replace(" ", "_"))
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "depressed.jsonl").write_bytes(b"\xff\xfe" if record is None else record.encode() + b"\n")
        (folder / "control.jsonl").write_text(json.dumps({"tweets": [{"text": "fine"}]}) + "\n")
        return cli(["data", "swdd", str(folder), str(W / "corpora" / "swdd_out")])

    case("depdetect data swdd", label, "refuse", names)(swdd)


# -- second round (issue 23): output paths, damaged folders, merged inputs, cost, the demo, what still raised -------
#
# Each class is tried as rules, in several spellings, not as the issue's examples only. `guarded` turns a changed
# input or model into a `data loss` outcome, whatever the command said.


(W / "round2").mkdir(exist_ok=True)


class DataLoss(Exception):
    """Raised by a case when a file the command read has changed (an input overwritten, a model damaged)."""


def digest(path: Path) -> str:
    import hashlib

    files = sorted(p for p in Path(path).rglob("*") if p.is_file()) if Path(path).is_dir() else [Path(path)]
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()


def guarded(call, *paths):
    """Run `call`; a changed file among `paths` is data loss (reported before how the command ended)."""
    before = [digest(p) for p in paths]
    try:
        return call()
    finally:
        changed = [str(p) for p, b in zip(paths, before) if digest(p) != b]
        if changed:
            raise DataLoss(f"changed: {', '.join(changed)}")


def texts_file(name: str = "in.jsonl") -> Path:
    path = W / "round2" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in ("I can't sleep.", "A lovely walk today.")))
    return path


def model_copy(kind: str, name: str) -> Path:
    folder = W / "round2" / name
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree({"hybrid": trained_folder, "dual": dual_folder, "doris": doris_whole_folder}[kind](), folder)
    return folder


@once
def doris_whole_folder() -> Path:
    """The DORIS pipeline saved with its (local) embedder inside: a folder `depdetect predict` loads on its own."""
    folder = W / "doris_whole"
    load_doris(doris_folder()).save_pretrained(folder, include_embedder=True)
    return folder


@once
def dual_folder() -> Path:
    from transformers import AutoTokenizer

    from depdetect import DualEncoderForDepressionScoring

    folder = W / "dual"
    model = DualEncoderForDepressionScoring.from_encoders(tokenizer_dir(), prefix_length=2, projection_size=8,
                                                          lstm_hidden_size=4, max_turn_length=32)
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(tokenizer_dir()).save_pretrained(folder)
    return folder


def interviews_file() -> Path:
    path = W / "round2" / "interviews.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"turns": [{"prompt": "How are you?", "response": "Tired all day."}]}) + "\n")
    return path


def users_file() -> Path:
    path = W / "round2" / "users.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(u) + "\n" for u in users("test", 3, 1)))
    return path


# output paths: the output is an input (spelt three ways, or through a link), lies in the model, or repeats itself
def output_cases():
    def spellings(path: Path) -> dict[str, str]:
        link = path.parent / f"link-{path.name}"
        if not link.exists():
            link.symlink_to(path.name)
        return {"as given": str(path), "./-relative": os.path.relpath(path), "through a link": str(link)}

    for label, spell in (("as given", 0), ("./-relative", 1), ("through a link", 2)):
        for flag, prefix in (("-o", "in"), ("--html", "html")):
            def over_input(spell=spell, flag=flag, prefix=prefix):
                source = texts_file(f"{prefix}{spell}.jsonl")
                out = list(spellings(source).values())[spell]
                return guarded(lambda: cli(["predict", str(trained_folder()), str(source), flag, out]), source)

            case("output paths", f"predict {flag} is the input ({label})", "refuse", (flag, "input", "output"))(
                over_input)
    for name in ("config.json", "model.safetensors", "tokenizer.json", "new.jsonl"):
        def into_model(name=name):
            folder = model_copy("hybrid", "into_model")
            return guarded(lambda: cli(["predict", str(folder), str(texts_file()), "-o", str(folder / name)]),
                           folder)

        case("output paths", f"predict -o MODEL/{name}", "refuse", ("model", "inside", "-o"))(into_model)

    def html_equals_output():
        out = W / "round2" / "same.out"
        cli(["predict", str(trained_folder()), str(texts_file()), "-o", str(out), "--html", str(out)])

    case("output paths", "predict --html P -o P", "refuse", ("--html", "-o", "same"))(html_equals_output)

    def evaluate_over_data():
        source = W / "round2" / "labelled.jsonl"
        source.write_text("".join(json.dumps({"text": t, "label": i % 2}) + "\n"
                                  for i, t in enumerate(["I feel low", "Nice day", "Empty", "Great run"] * 3)))
        return guarded(lambda: cli(["evaluate", str(trained_folder()), str(source), "-o", str(source)]), source)

    case("output paths", "evaluate -o is the data file", "refuse", ("-o", "input", "output"))(evaluate_over_data)

    def early_over_input():
        source = users_file()
        return guarded(lambda: cli(["predict", str(doris_whole_folder()), str(source), "--early", "-o",
                                    str(source)]), source)

    case("output paths", "predict --early -o is the input", "refuse", ("-o", "input", "output"))(early_over_input)


output_cases()


# damaged folders: each file a system needs, missing, cut short, garbage or a link outside; sizes in configs
def predict_damaged(kind: str, damage, source=None):
    folder = model_copy(kind, f"damaged-{kind}")
    damage(folder)
    source = source or {"hybrid": texts_file, "dual": interviews_file, "doris": users_file}[kind]()
    return cli(["predict", str(folder), str(source), "-o", str(W / "round2" / "damaged.jsonl")])


def cut(name):
    def damage(folder):
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: len(data) // 2])
    return damage


def replace(name, content: bytes):
    return lambda folder: (folder / name).write_bytes(content)


def remove(name):
    return lambda folder: (folder / name).unlink()


def edit_config(name, edit):
    def damage(folder):
        config = json.loads((folder / name).read_text())
        edit(config)
        (folder / name).write_text(json.dumps(config))
    return damage


def outside_link(name):
    def damage(folder):
        other = W / "round2" / f"elsewhere-{name}"
        shutil.copy(folder / name, other)
        (folder / name).unlink()
        (folder / name).symlink_to(other)
    return damage


ABSURD_HEADER = (10**15).to_bytes(8, "little")
DAMAGES = [
    ("hybrid", "tokenizer.json removed", remove("tokenizer.json"), ("tokenizer",)),
    ("dual", "tokenizer.json removed", remove("tokenizer.json"), ("tokenizer",)),
    ("hybrid", "model.safetensors cut in half", cut("model.safetensors"), ("model.safetensors",)),
    ("dual", "model.safetensors cut in half", cut("model.safetensors"), ("model.safetensors",)),
    ("hybrid", "model.safetensors with an absurd header length",
     lambda f: (f / "model.safetensors").write_bytes(ABSURD_HEADER + (f / "model.safetensors").read_bytes()[8:]),
     ("model.safetensors",)),
    ("hybrid", "model.safetensors of 3 bytes", replace("model.safetensors", b"abc"), ("model.safetensors",)),
    ("hybrid", "config.json not JSON", replace("config.json", b"{oops"), ("config.json",)),
    ("hybrid", "encoder with 100,000 layers",
     edit_config("config.json", lambda c: c["encoder_config"].update(num_hidden_layers=100_000)),
     ("num_hidden_layers",)),
    ("hybrid", "encoder intermediate_size 10^9",
     edit_config("config.json", lambda c: c["encoder_config"].update(intermediate_size=10**9)),
     ("intermediate_size",)),
    ("dual", "sentence encoder with 100,000 layers",
     edit_config("config.json", lambda c: c["sentence_encoder_config"].update(num_hidden_layers=100_000)),
     ("num_hidden_layers",)),
    ("doris", "xgboost_model.json cut in half", cut("xgboost_model.json"), ("xgboost_model.json",)),
    ("doris", "xgboost_model.json garbage", replace("xgboost_model.json", b"\x00garbage"), ("xgboost_model.json",)),
    ("doris", "xgboost_model.json a link to another pipeline's trees", outside_link("xgboost_model.json"),
     ("xgboost_model.json",)),
    ("doris", "doris_config.json a link outside the folder", outside_link("doris_config.json"),
     ("doris_config.json",)),
    ("doris", "emotion_cutoffs of length 1",
     edit_config("doris_config.json", lambda c: c.update(emotion_cutoffs=[0.3])), ("emotion_cutoffs",)),
    ("doris", "annotator thresholds for 3 of 9 symptoms",
     edit_config("doris_config.json", lambda c: c["annotator_state"].update(
         thresholds=c["annotator_state"]["thresholds"][:3])), ("thresholds",)),
]
for kind, label, damage, names in DAMAGES:
    case("damaged folders", f"{kind}: {label}", "refuse", names, limit=60)(
        lambda kind=kind, damage=damage: predict_damaged(kind, damage))


def pipeline_of_damaged(damage, task="depression-detection"):
    from transformers import pipeline

    folder = model_copy("hybrid", "damaged-pipeline")
    damage(folder)
    return pipeline(task, model=str(folder), trust_remote_code=True)("I feel low")


for label, damage, names in [("tokenizer.json removed", remove("tokenizer.json"), ("tokenizer",)),
                             ("model.safetensors cut in half", cut("model.safetensors"), ("model.safetensors",)),
                             ("encoder with 100,000 layers", edit_config("config.json", lambda c: c[
                                 "encoder_config"].update(num_hidden_layers=100_000)), ("num_hidden_layers",))]:
    case("damaged folders", f"pipeline(...): {label}", "refuse", names, limit=60)(
        lambda damage=damage: pipeline_of_damaged(damage))


# merged and encoded inputs: eRisk writings twice, a BOM, early thresholds
def erisk_collection(name: str, twice: str | None = None):
    root = W / "round2" / name
    shutil.rmtree(root, ignore_errors=True)
    subjects = {f"subject{i}": int(i < 4) for i in range(16)}
    for subject in subjects:
        writings = "".join(f"<WRITING><TITLE></TITLE><DATE>2015-01-0{d} 10:00:00</DATE><INFO>reddit post</INFO>"
                           f"<TEXT>post {d} of {subject}</TEXT></WRITING>" for d in range(1, 4))
        xml = f"<INDIVIDUAL><ID>{subject}</ID>{writings}</INDIVIDUAL>"
        write(f"../round2/{name}/xml/{subject}.xml", xml)
        if twice == "chunks":
            write(f"../round2/{name}/xml/chunk 1/{subject}_1.xml", xml)
        elif twice == "copy" and subject == "subject3":
            write(f"../round2/{name}/xml/copy of {subject}.xml", xml)
    truth = "".join(f"{s} {label}\n" for s, label in subjects.items())
    write(f"../round2/{name}/truth.txt", ("\ufeff" + truth) if twice == "bom" else truth)
    return root


def erisk_twice(twice):
    root = erisk_collection(f"erisk-{twice}", twice)
    return cli(["data", "erisk", str(root / "xml"), str(root / "truth.txt"), str(W / "round2" / f"erisk-out-{twice}")])


case("merged inputs", "eRisk whole histories beside their chunk files", "refuse", ("twice", "subject"))(
    lambda: erisk_twice("chunks"))
case("merged inputs", "eRisk: one subject's file copied under another name", "refuse", ("twice", "subject3"))(
    lambda: erisk_twice("copy"))


@case("merged inputs", "eRisk golden truth with a BOM (right subject ids?)", "accept")
def _():
    from datasets import load_from_disk

    erisk_twice("bom")
    data = load_from_disk(str(W / "round2" / "erisk-out-bom"))
    ids = {u for split in data.values() for u in split["user_id"]}
    return ids == {f"subject{i}" for i in range(16)}


@case("merged inputs", "a training CSV with a BOM (text column read?)", "accept")
def _():
    import pandas as pd

    path = W / "round2" / "bom_train.csv"
    data = pd.read_csv(posts_files()["train"]).to_csv(index=False)
    path.write_bytes(b"\xef\xbb\xbf" + data.encode())
    result = cli(train_argv(W / "round2" / "bom_run", {**posts_files(), "train": str(path)}, "--max_steps", "1",
                            "--checkpointing_steps", "0"))
    return result is not None and (W / "round2" / "bom_run" / "model.safetensors").is_file()


for value in ("1.5", "-0.1", "nan"):
    case("merged inputs", f"--early --threshold {value}", "refuse", ("threshold",))(
        lambda value=value: cli(["predict", str(doris_whole_folder()), str(users_file()), "--early", "--threshold",
                                 value, "-o", str(W / "round2" / "early.jsonl")]))


# cost: a huge text, a big eRisk file, a long history (bounded memory, progress shown)
@case("bounded cost", "a 10 MB text through the pipeline (peak memory < 300 MB above a short text's?)", "accept",
      limit=180)
def _():
    """Measured in a fresh process (this one's peak already holds the other cases'): its peak after a short text,
    then after one of 10 MB."""
    import subprocess

    script = (  # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the (large) parent across fork and exec
        "import json, re, sys\n"
        "from transformers import AutoTokenizer\n"
        "from depdetect import DepressionDetectionPipeline, HybridForSequenceClassification\n"
        "def peak():\n"
        "    return int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
        "folder = sys.argv[1]\n"
        "pipe = DepressionDetectionPipeline(model=HybridForSequenceClassification.from_pretrained(folder).eval(),\n"
        "                                   tokenizer=AutoTokenizer.from_pretrained(folder))\n"
        "pipe('I could not sleep again.')\n"
        "short = peak()\n"
        "out = pipe('I could not sleep again. ' * 420000)\n"
        "print(json.dumps({'grown_mib': (peak() - short) / 1024, 'truncated': out['truncated']}))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(Path(depdetect.__file__).parents[1]),
                                                                      os.environ.get("PYTHONPATH")) if p)}
    done = subprocess.run([sys.executable, "-c", script, str(trained_folder())], capture_output=True, text=True,
                          env=env, timeout=170)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"10 MB text: peak grew {result['grown_mib']:.0f} MiB", file=sys.__stderr__)
    return result["truncated"] is True and result["grown_mib"] < 300


@case("bounded cost", "a 40 MB eRisk file (peak Python memory < 2x the file?)", "accept", limit=120)
def _():
    import tracemalloc

    from depdetect.corpora.erisk import read_subject_file

    path = W / "round2" / "big.xml"
    body = "I could not sleep again and the day felt long. " * 200
    with path.open("w") as handle:
        handle.write("<INDIVIDUAL><ID>big</ID>")
        for i in range(4000):
            handle.write(f"<WRITING><TITLE></TITLE><DATE>2015-01-01 00:00:00</DATE><TEXT>{body}{i}</TEXT></WRITING>")
        handle.write("</INDIVIDUAL>")
    tracemalloc.start()
    subject, posts, _ = read_subject_file(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return subject == "big" and len(posts) == 4000 and peak < 2 * path.stat().st_size


@case("bounded cost", "--early on one user with 3,000 posts (progress shown?)", "accept", limit=300)
def _():
    posts = [{"text": f"post {i} about my week", "timestamp": f"2020-01-{1 + i // 1440:02d}T{i // 60 % 24:02d}:"
                                                           f"{i % 60:02d}:00"} for i in range(3000)]
    source = W / "round2" / "long_user.jsonl"
    source.write_text(json.dumps({"user_id": "long", "posts": posts}) + "\n")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        cli(["predict", str(trained_folder()), str(source), "--early", "--no_explain", "-o",
             str(W / "round2" / "long.jsonl")])
    return "/3000 [" in err.getvalue()


# the demo
@case("demo", "starts behind an HTTP(S)_PROXY with no NO_PROXY", "accept", limit=150)
def _():
    import subprocess
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k.lower() != "no_proxy"}
    env.update(HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9", HF_HUB_OFFLINE="1",
               PYTHONPATH=os.pathsep.join(p for p in (str(Path(depdetect.__file__).parents[1]),
                                                      env.get("PYTHONPATH")) if p))
    process = subprocess.Popen([sys.executable, "-m", "depdetect.cli", "demo", str(trained_folder()), "--port",
                                str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                return b"depdetect" in direct.open(f"http://127.0.0.1:{port}/", timeout=5).read()
            except OSError:
                time.sleep(1)
        return False
    finally:
        process.terminate()
        process.wait(30)


@case("demo", "bad input: shown in the page, not printed or logged with the typed text", "accept", limit=120)
def _():
    import logging

    from gradio_client import Client

    from depdetect.demo import launch

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"
    app = launch([str(trained_folder()), str(doris_whole_folder())], port=port, block=False)
    typed, seen = "SECRET-MARKER-4711", io.StringIO()
    handler = logging.StreamHandler(seen)
    logging.getLogger().addHandler(handler)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)
        with contextlib.redirect_stderr(seen), contextlib.redirect_stdout(seen):
            try:
                client.predict({"headers": ["timestamp", "text"], "data": [[typed, "I feel low"]]}, None,
                               api_name="/explain_user")
                shown = False
            except Exception as error:  # noqa: BLE001
                shown = typed in str(error)
        time.sleep(0.5)
    finally:
        logging.getLogger().removeHandler(handler)
        app.close()
    return shown and typed not in seen.getvalue() and "Traceback" not in seen.getvalue()


# what still ended in a library's traceback or message
def disk_full_train():
    """The final save of a Hybrid on a full disk: safetensors' own error type (not an OSError) is raised."""
    import safetensors.torch

    out = W / "round2" / "full_disk"
    cli(train_argv(out, None, "--max_steps", "1", "--checkpointing_steps", "0"))
    original = safetensors.torch.save_file

    def full(*args, **kwargs):
        raise safetensors.SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    safetensors.torch.save_file = full
    import transformers.modeling_utils as modeling_utils

    saved = getattr(modeling_utils, "safe_save_file", None)
    modeling_utils.safe_save_file = full
    try:
        again = train_argv(out, None, "--max_steps", "1", "--checkpointing_steps", "0", "--overwrite_output_dir")
        return guarded(lambda: cli(again), out / "model.safetensors", out / "config.json")
    finally:
        safetensors.torch.save_file = original
        if saved is not None:
            modeling_utils.safe_save_file = saved


case("raised before", "disk full during the Hybrid's final save", "refuse", ("disk", "space", "full_disk"),
     limit=120)(disk_full_train)


def deep_jsonl():
    path = W / "round2" / "deep.jsonl"
    path.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    return cli(["predict", str(trained_folder()), str(path)])


case("raised before", "a JSON Lines record nested 100,000 deep", "refuse", ("deep.jsonl",))(deep_jsonl)
case("raised before", "train --encoder /no/such/dir", "refuse", ("/no/such/dir", "encoder"))(
    lambda: cli(["train", "hybrid", "--encoder", "/no/such/dir", "--output_dir", str(W / "round2" / "noenc")]))
case("raised before", "from_pretrained('/no/such/dir')", "refuse", ("/no/such/dir",))(
    lambda: depdetect.HybridForSequenceClassification.from_pretrained("/no/such/dir"))
case("raised before", "pipeline(max_length=5000)", "refuse", ("max_length",))(
    lambda: detector()("I feel low", max_length=5000))


def empty_csv():
    path = W / "round2" / "empty.csv"
    path.write_text("text,label\n")
    return cli(train_argv(W / "round2" / "empty_run", {**posts_files(), "train": str(path)}))


case("raised before", "an empty training CSV", "refuse", ("empty.csv",))(empty_csv)


def seven_rows():
    path = W / "round2" / "seven.csv"
    path.write_text("text,label\n" + "".join(f"post number {i},{i % 2}\n" for i in range(7)))
    return cli(["train", "hybrid", "--encoder", tokenizer_dir(), "--train_file", str(path), "--output_dir",
                str(W / "round2" / "seven_run"), "--max_steps", "1"])


case("raised before", "7 rows and no validation/test files", "refuse", ("too few", "validation"))(seven_rows)
for value in ("0", "-5"):
    case("raised before", f"data rmhd-users --users {value}", "refuse", ("--users", "users"))(
        lambda value=value: cli(["data", "rmhd-users", str(W / "round2" / "cohort"), "--users", value]))


@case("raised before", "a pandas DataFrame of users to predict_proba", "accept")
def _():
    import pandas as pd

    pipeline = load_doris(doris_folder())
    probe = users("test", 3, 1)
    return bool(np.allclose(pipeline.predict_proba(pd.DataFrame(probe)), pipeline.predict_proba(probe)))


# the first hour: what a new user reads
@case("first hour", "contractions come back as one word (can't)", "accept")
def _():
    words = [t["token"] for t in detector()("I can't sleep and haven't eaten.")["tokens"]]
    return "can't" in words and "haven't" in words and "'" not in words


@case("first hour", "regression baselines are called ridge", "accept")
def _():
    from depdetect.baselines import fit_baselines

    docs = [[f"word{i % 5} text {i}"] for i in range(40)]
    return set(fit_baselines(docs[:30], np.arange(30.0), docs[30:], "regression", which="tfidf")) == {"tfidf_ridge"}


@case("first hour", "the DORIS report says '1 post', not '1 post(s)'", "accept")
def _():
    from depdetect.report_html import render_report

    pipeline = load_doris(doris_folder())
    rows = [{**pipeline.explain(u), "user_id": u["user_id"]} for u in users("test", 4, 2)]
    html = render_report("doris", rows)
    return "post(s)" not in html and ("posts)" in html or " post)" in html)

# -- running them -----------------------------------------------------------------------------------------------------


def classify(expect: str, fn, names: tuple[str, ...], limit: float) -> tuple[str, str]:
    err = io.StringIO()

    def on_alarm(signum, frame):
        raise Hang

    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    start = time.monotonic()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            result = fn()
    except Hang:
        return "hang", f"no answer within {limit:g} s"
    except DataLoss as loss:
        return "data loss", str(loss)[:160]
    except SystemExit as exit_:
        text = err.getvalue().strip()
        line = text.splitlines()[-1] if text else ""
        if expect == "refuse" and exit_.code == 2 and "Traceback" not in text and any(
                n.lower() in line.lower() for n in names):
            return "clear", line[:160]
        return "traceback", f"exit {exit_.code}: {line[:160]}"
    except Uploaded as error:
        return "silent", str(error)
    except Exception as error:  # noqa: BLE001
        message = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:160]
        if expect == "refuse" and isinstance(error, CLEAR_TYPES) and any(n.lower() in str(error).lower()
                                                                         for n in names):
            return "clear", message
        return "traceback", message
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    elapsed = time.monotonic() - start
    if expect == "accept":
        return ("handled", f"{elapsed:.1f} s") if result is True else ("silent", f"check failed ({elapsed:.1f} s)")
    return "silent", "no error"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=None, help="Write every case's outcome as JSON here.")
    parser.add_argument("--only", default=None, help="Run only the entry points starting with this.")
    args = parser.parse_args()
    print(f"depdetect {depdetect.__version__} from {Path(depdetect.__file__).parent}; {len(CASES)} cases")
    results = []
    for entry, name, expect, fn, names, limit in CASES:
        if args.only and not entry.startswith(args.only):
            continue
        outcome, detail = classify(expect, fn, names, limit)
        results.append({"entry": entry, "case": name, "expect": expect, "outcome": outcome, "detail": detail})
        print(f"{outcome:<9} {entry} | {name} | {detail}", flush=True)
    table: dict[str, Counter] = {}
    for r in results:
        table.setdefault(r["entry"], Counter())[r["outcome"]] += 1
    columns = ("clear", "handled", "silent", "traceback", "hang", "data loss")
    print("\n| entry point | inputs tried | " + " | ".join(columns) + " |")
    print("|---|---:|" + "---:|" * len(columns))
    total = Counter()
    for entry, counts in table.items():
        total.update(counts)
        print(f"| {entry} | {sum(counts.values())} | " + " | ".join(str(counts[c]) for c in columns) + " |")
    print(f"| **all** | {sum(total.values())} | " + " | ".join(str(total[c]) for c in columns) + " |")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    shutil.rmtree(W, ignore_errors=True)


if __name__ == "__main__":
    main()
