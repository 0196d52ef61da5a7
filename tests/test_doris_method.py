"""DORIS's pure pieces: answer parsing, prompts, risk, cut-offs and the user features (hand-computed)."""

from __future__ import annotations

import numpy as np
import pytest

from depdetect.doris import (
    EMOTIONS,
    SYMPTOMS,
    DorisConfig,
    parse_symptom_answer,
    risk_scores,
    top_percent_cutoff,
    user_features,
)
from depdetect.doris.annotators import EmbeddingAnnotator, make_annotator
from depdetect.doris.templates import annotate_prompt, explain_prompt, mood_course_prompt


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("(A, C)", ["A", "C"]),
        ("(c, a)", ["A", "C"]),
        ("  ( G ; I ). ", ["G", "I"]),
        ("Answer: (G, I)", ["G", "I"]),
        ("A, C", ["A", "C"]),
        ("None", []),
        ("none.", []),
        ("(None)", []),
        ("The answer is: None of these.", []),
    ],
)
def test_parse_symptom_answer_reads_tolerant_forms(answer, expected):
    assert parse_symptom_answer(answer) == expected


@pytest.mark.parametrize("answer", ["", "maybe", "(A, J)", "(A) and (B)", "yes, several", None, 42, "()"])
def test_parse_symptom_answer_returns_none_when_unreadable(answer):
    assert parse_symptom_answer(answer) is None


def test_templates_are_the_papers_nine_symptoms_and_five_emotions():
    assert [s["code"] for s in SYMPTOMS] == list("ABCDEFGHI")
    assert SYMPTOMS[3]["name"] == "Insomnia or hypersomnia"
    assert [e["name"] for e in EMOTIONS] == ["anger", "disgust", "anxiety", "happiness", "sadness"]
    assert SYMPTOMS[1]["template"].startswith("I have lost interest, feel indifferent")


def test_prompts_carry_the_text_and_the_format():
    prompt = annotate_prompt("I can't sleep")
    assert "'I can't sleep'" in prompt and "A. Depressed mood" in prompt and "I. Thoughts of suicide" in prompt
    assert "(A, B, C)" in prompt and "respond with None" in prompt
    mood = mood_course_prompt([{"text": "bad day", "timestamp": "2020-01-02"}, {"text": "better", "timestamp": None}])
    assert "Time: 2020-01-02, Post: bad day" in mood and "Time: unknown, Post: better" in mood
    assert "to be depressed" in explain_prompt("flat", [{"text": "x", "symptoms": ["Fatigue"]}], True)
    assert "to be normal" in explain_prompt("flat", [], False)


def test_risk_is_the_mean_similarity_to_the_symptom_templates():
    similarity = np.array([[0.1, 0.2, 0.3], [0.9, 0.0, 0.3]])
    np.testing.assert_allclose(risk_scores(similarity), [0.2, 0.4])


def test_top_percent_cutoff_selects_that_share_of_the_corpus():
    values = np.linspace(-1, 1, 100)  # cosine similarities
    assert (values >= top_percent_cutoff(values, 20)).sum() == 20
    assert (values >= top_percent_cutoff(values, 0)).sum() == 0
    assert (values >= top_percent_cutoff(values, 100)).sum() == 100


def test_user_features_follow_eqs_4_8_9_10():
    H = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])  # (3 posts, d=2)
    E = np.array([[1, 0], [0, 0], [1, 1]], dtype=float)  # (3, 2 symptoms)
    emotional = np.array([True, False, True])
    mood = np.array([2.0, 0.0])
    f_mc = (H[0] + H[2] + mood) / 3  # (sum over P_E + Emb(T_MC)) / (|P_E| + 1)
    f_ph = H.mean(axis=0)
    f_dc = E.mean(axis=0)
    np.testing.assert_allclose(user_features(H, E, emotional, mood), np.concatenate([f_mc + f_ph, f_dc]), rtol=1e-6)
    np.testing.assert_allclose(user_features(H, E, emotional, mood, ["dc"]), f_mc + f_ph, rtol=1e-6)
    np.testing.assert_allclose(user_features(H, E, emotional, None, ["mc"]), np.concatenate([f_ph, f_dc]), rtol=1e-6)
    np.testing.assert_allclose(user_features(H, E, emotional, mood, ["ph"]), np.concatenate([f_mc, f_dc]), rtol=1e-6)
    np.testing.assert_allclose(user_features(H, E, emotional, None, ["mc", "ph"]), f_dc, rtol=1e-6)


def test_user_features_without_emotional_posts_use_the_summary_alone():
    H = np.array([[1.0, 0.0]])
    out = user_features(H, np.zeros((1, 1)), np.array([False]), np.array([0.0, 4.0]), ["dc"])
    np.testing.assert_allclose(out, [0.0 + 1.0, 4.0 + 0.0])


def test_embedding_annotator_uses_fitted_thresholds_and_the_closest_templates():
    annotator = EmbeddingAnnotator(quantile=0.5, max_symptoms=1, symptoms=SYMPTOMS[:3])
    train = np.array([[0.1, 0.1, 0.1], [0.3, 0.3, 0.3], [0.5, 0.5, 0.5]])
    annotator.fit(train)
    np.testing.assert_allclose(annotator.thresholds, [0.3, 0.3, 0.3])
    out = annotator.annotate(["a", "b", "c"], np.array([[0.4, 0.35, 0.0], [0.2, 0.2, 0.2], [0.1, 0.1, 0.9]]))
    assert out == [["A"], [], ["C"]]  # B clears its threshold in post a but is not its closest template


def test_embedding_annotator_round_trips_through_its_state():
    annotator = EmbeddingAnnotator()
    annotator.fit(np.random.default_rng(0).random((50, 9)))
    again = make_annotator("embedding", annotator.state())
    np.testing.assert_allclose(again.thresholds, annotator.thresholds)
    assert again.max_symptoms == annotator.max_symptoms


@pytest.mark.parametrize("spec", ["gpt", "openai:http://x", "openai:#model", "transformers:"])
def test_make_annotator_rejects_unknown_specs(spec):
    with pytest.raises(ValueError, match="Unknown annotator"):
        make_annotator(spec)


def test_make_annotator_reads_openai_and_transformers_specs(tmp_path):
    openai = make_annotator("openai:http://localhost:8000/v1#my-model")
    assert (openai.base_url, openai.model, openai.spec) == ("http://localhost:8000/v1", "my-model",
                                                            "openai:http://localhost:8000/v1#my-model")
    gguf = make_annotator(f"transformers:{tmp_path}/model.Q4.gguf")
    assert (gguf.path, gguf.gguf_file) == (str(tmp_path), "model.Q4.gguf")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"k": 120}, "`k` must be a percentage"),
        ({"m": -1}, "`m` must be a percentage"),
        ({"ablate": "dc,xx"}, "unknown"),
        ({"ablate": "dc,mc,ph"}, "keep at least one"),
        ({"decision_threshold": 1.0}, "`decision_threshold`"),
        ({"symptoms": [{"code": "A"}]}, "`symptoms`"),
    ],
)
def test_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DorisConfig(**kwargs)


def test_a_config_saved_with_the_old_threshold_name_loads_with_its_value():
    old = {**DorisConfig().to_dict(), "threshold": 0.37}
    del old["decision_threshold"]
    assert DorisConfig.from_dict(old).decision_threshold == 0.37


def test_config_round_trips_through_json(tmp_path):
    config = DorisConfig(k=10, m=40, ablate="mc", risk_cutoff=0.3, emotion_cutoffs=[0.1] * 5)
    config.to_json_file(tmp_path / "c.json")
    again = DorisConfig.from_json_file(tmp_path / "c.json")
    assert again == config and again.ablate == ["mc"]
    with pytest.raises(ValueError, match="Unknown DORIS config fields"):
        DorisConfig.from_dict({**config.to_dict(), "surprise": 1})


def test_answer_cache_survives_a_torn_record_and_keeps_appending(tmp_path):
    from depdetect.doris.cache import AnswerCache

    cache = AnswerCache(tmp_path, "annotations")
    cache.put("a", ["A"])
    with open(tmp_path / "annotations.rank0.jsonl", "a") as handle:
        handle.write('{"key": "b", "val')  # a run killed mid-write
    again = AnswerCache(tmp_path, "annotations")
    assert "a" in again and "b" not in again
    again.put("c", None)
    third = AnswerCache(tmp_path, "annotations")
    assert third.get("a") == ["A"] and "c" in third and third.get("c") is None


def test_embedding_cache_trims_a_torn_row_and_keeps_rows_aligned(tmp_path):
    from depdetect.doris.cache import EmbeddingCache

    cache = EmbeddingCache(tmp_path, "emb", dim=2)
    cache.put_many(["a", "b"], np.array([[1, 0], [0, 1]], dtype=np.float32))
    folder = next(tmp_path.glob("embeddings-*"))
    with open(folder / "embeddings.rank0.f32", "ab") as handle:
        handle.write(np.array([5.0], dtype=np.float32).tobytes())  # half a row, its key never written
    again = EmbeddingCache(tmp_path, "emb", dim=2)
    again.put_many(["c"], np.array([[3, 4]], dtype=np.float32))
    third = EmbeddingCache(tmp_path, "emb", dim=2)
    assert len(third) == 3
    np.testing.assert_array_equal(third.get("c"), [3, 4])
    np.testing.assert_array_equal(third.get("b"), [0, 1])
