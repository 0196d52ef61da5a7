"""DorisPipeline end to end on a small simulated cohort with a tiny random embedder: fit, predict, explain,
evaluate, save/load, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from depdetect import DorisPipeline

from .conftest import doris_config


@pytest.fixture(scope="module")
def fitted(tiny_embedder, cohort):
    return DorisPipeline(doris_config(), embedder=tiny_embedder).fit(cohort["train"])


def users_of(split, n=None):
    """The first `n` users, with the split's first 5 depressed users among them (DORIS fits on >= 5 per class)."""
    users = split.to_list()
    depressed = [u for u in users if u["label"] == 1][:5]
    rest = [u for u in users if u not in depressed]
    return (depressed + rest)[:n] if n else users


def test_fit_stores_cutoffs_and_annotates_k_percent_of_training_posts(tiny_embedder, cohort):
    doris = DorisPipeline(doris_config(k=20), embedder=tiny_embedder).fit(cohort["train"])
    assert doris.config.fitted and len(doris.config.emotion_cutoffs) == 5
    share = doris.stats["posts_annotated"] / doris.stats["posts"]
    assert abs(share - 0.20) < 0.01
    assert doris.config.feature_names[-9:] == [f"dc_{c}" for c in "ABCDEFGHI"]
    assert len(doris.config.feature_names) == tiny_embedder.dimension + 9


def test_predict_proba_is_a_probability_per_user_and_predict_thresholds_it(fitted, cohort):
    p = fitted.predict_proba(cohort["test"])
    assert p.shape == (len(cohort["test"]),) and ((p >= 0) & (p <= 1)).all()
    np.testing.assert_array_equal(fitted.predict(cohort["test"]), (p >= 0.5).astype(int))


def test_a_single_new_user_is_scored_with_the_stored_cutoffs(fitted, cohort):
    users = users_of(cohort["test"], 6)
    together = fitted.predict_proba(users)
    alone = np.array([fitted.predict_proba(u)[0] for u in users])
    np.testing.assert_allclose(alone, together, rtol=1e-6)


def test_the_trees_learn_the_training_users(fitted, cohort):
    metrics = fitted.evaluate(cohort["train"])
    assert metrics["auroc"] > 0.9  # a fitted GBT separates its own training users
    assert set(metrics) >= {"precision", "recall", "f1", "auroc", "auprc"}


def test_explain_reports_symptom_posts_mood_course_and_explanation(fitted, cohort):
    user = next(u for u in users_of(cohort["test"]) if u["label"] == 1)
    out = fitted.explain(user)
    assert set(out) == {"label", "probability", "symptoms", "mood_course", "mood_posts", "explanation",
                        "evidence_chosen_by"}
    assert out["evidence_chosen_by"].startswith("Chosen by similarity, not by a clinical judgement")
    assert out["label"] in ("control", "depression")
    assert out["probability"] == pytest.approx(fitted.predict_proba(user)[0])
    texts = {p["text"] for p in user["posts"]}
    for symptom in out["symptoms"]:
        assert symptom["code"] in "ABCDEFGHI" and symptom["name"]
        assert symptom["posts"] and all(p["text"] in texts and "timestamp" in p for p in symptom["posts"])
        assert all(-1 <= p["similarity"] <= 1 for p in symptom["posts"])
    assert out["mood_course"].startswith(("Mood course from", "No emotionally charged posts"))
    assert "not a diagnosis" in out["explanation"]


def test_save_and_load_give_the_same_probabilities_without_pickles(fitted, cohort, tmp_path):
    fitted.save_pretrained(tmp_path / "doris", metrics={"test": {"f1": float("nan")}}, include_embedder=True)
    files = sorted(p.name for p in (tmp_path / "doris").iterdir())
    assert files == ["doris_config.json", "handler.py", "metrics.json", "requirements.txt", fitted.config.embedder,
                     "xgboost_model.json"]
    for path in (tmp_path / "doris").glob("*.json"):
        json.loads(path.read_text())  # strict JSON throughout (NaN written as null)
    saved = json.loads((tmp_path / "doris" / "doris_config.json").read_text())
    assert saved["k"] == 20 and saved["m"] == 30 and saved["risk_cutoff"] == fitted.config.risk_cutoff
    assert len(saved["symptoms"]) == 9 and saved["annotator"] == "embedding" and saved["prompt_versions"]
    loaded = DorisPipeline.from_pretrained(tmp_path / "doris")  # embedder: the copy inside the folder
    np.testing.assert_allclose(loaded.predict_proba(cohort["test"]), fitted.predict_proba(cohort["test"]), rtol=1e-6)


def test_a_saved_pipeline_loads_in_a_fresh_process(fitted, cohort, tmp_path):
    fitted.save_pretrained(tmp_path / "doris", include_embedder=True)
    users = users_of(cohort["test"], 3)
    (tmp_path / "users.json").write_text(json.dumps(users))
    script = textwrap.dedent(f"""
        import json
        from depdetect import DorisPipeline
        doris = DorisPipeline.from_pretrained({str(tmp_path / "doris")!r})
        users = json.load(open({str(tmp_path / "users.json")!r}))
        print(json.dumps(doris.predict_proba(users).tolist()))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=True)
    np.testing.assert_allclose(json.loads(out.stdout.strip().splitlines()[-1]), fitted.predict_proba(users), rtol=1e-6)


@pytest.mark.parametrize(
    "ablate, width",
    [([], "d+9"), (["dc"], "d"), (["mc"], "d+9"), (["mc", "ph"], "9")],
)
def test_ablation_changes_the_features(tiny_embedder, cohort, ablate, width):
    doris = DorisPipeline(doris_config(ablate=ablate), embedder=tiny_embedder).fit(users_of(cohort["train"], 60))
    d = tiny_embedder.dimension
    assert len(doris.config.feature_names) == eval(width, {"d": d})


def test_k_zero_annotates_nothing(tiny_embedder, cohort):
    doris = DorisPipeline(doris_config(k=0), embedder=tiny_embedder).fit(users_of(cohort["train"], 60))
    assert doris.stats["posts_annotated"] == 0
    assert doris.explain(users_of(cohort["test"], 1)[0])["symptoms"] == []


def test_posts_are_time_ordered_only_when_every_post_is_dated(fitted):
    from depdetect.doris.annotators import EmbeddingAnnotator
    from depdetect.doris.pipeline import _time_order

    dated = [{"text": "b", "timestamp": "2020-03-01"}, {"text": "a", "timestamp": "2020-01-01T23:00:00-05:00"},
             {"text": "c", "timestamp": "2020-02-01T00:00:00+00:00"}]
    assert _time_order(dated) == [1, 2, 0]  # 2020-01-02 04:00 UTC < 2020-02-01 < 2020-03-01
    assert _time_order([*dated, {"text": "d", "timestamp": None}]) == [0, 1, 2, 3]  # one undated post: given order
    summary = EmbeddingAnnotator().summarize([{"text": "so sad", "timestamp": None, "emotion": "sadness"}])
    assert "time unknown sadness" in summary
    undated = {"user_id": "u", "posts": [{"text": "I cry every night"}, {"text": "sad again", "timestamp": None}]}
    assert 0 <= fitted.predict_proba([undated])[0] <= 1


@pytest.mark.parametrize(
    "user, match",
    [
        ({"user_id": "u1", "posts": []}, "has no posts"),
        ({"user_id": "u2", "posts": [{"text": "   ", "timestamp": None}]}, "is empty or holds only whitespace"),
        ({"user_id": "u3", "posts": [{"text": 5}]}, "must be a string"),
        ({"user_id": "u4", "posts": [{"text": "hi", "timestamp": "last Tuesday"}]}, "not ISO 8601"),
        ({"user_id": "u5", "posts": "hello"}, "must be a list"),
    ],
)
def test_bad_users_get_clear_errors(fitted, user, match):
    with pytest.raises(ValueError, match=match):
        fitted.predict_proba([user])


def test_fit_with_one_class_is_refused(tiny_embedder, cohort):
    controls = [u for u in users_of(cohort["train"]) if u["label"] == 0][:20]
    with pytest.raises(ValueError, match="single class"):
        DorisPipeline(doris_config(), embedder=tiny_embedder).fit(controls)


def test_labels_out_of_range_are_refused(tiny_embedder, cohort):
    users = users_of(cohort["train"], 20)
    users[3] = {**users[3], "label": 2}
    with pytest.raises(ValueError, match=r"users\[3\] has label 2"):
        DorisPipeline(doris_config(), embedder=tiny_embedder).fit(users)


def test_nan_embeddings_are_refused(tiny_embedder, cohort):
    class NaNEmbedder:
        identifier, dimension = "nan-embedder", tiny_embedder.dimension

        def encode(self, texts):
            out = tiny_embedder.encode(texts)
            out[0, 0] = np.nan
            return out

    with pytest.raises(ValueError, match="NaN or infinite"):
        DorisPipeline(doris_config(), embedder=NaNEmbedder()).fit(users_of(cohort["train"], 20))


def test_predicting_before_fitting_is_refused(tiny_embedder, cohort):
    with pytest.raises(RuntimeError, match="not fitted"):
        DorisPipeline(doris_config(), embedder=tiny_embedder).predict_proba(users_of(cohort["test"], 1))


def test_from_pretrained_names_a_folder_that_is_not_doris(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a saved DORIS pipeline"):
        DorisPipeline.from_pretrained(tmp_path)


def test_without_dc_nothing_is_sent_to_the_annotator_but_explain_still_annotates(tiny_embedder, cohort):
    doris = DorisPipeline(doris_config(ablate=["dc"]), embedder=tiny_embedder).fit(users_of(cohort["train"], 60))
    assert doris.stats["posts_annotated"] == 0
    doris.explain(users_of(cohort["test"], 1)[0])
    assert doris.stats["posts_annotated"] > 0


def test_a_saved_doris_folder_carries_an_endpoint_handler_that_predicts_like_depdetect(models, cohort):
    """Inference Endpoints' call shape on the folder's own handler.py (it needs depdetect[doris], named in the
    folder's requirements.txt)."""
    import importlib.util

    from depdetect import __version__
    from depdetect.doris import predictor as doris_predictor

    folder = models["doris"]
    assert (folder / "requirements.txt").read_text() == f"depdetect[doris]>={__version__}\n"
    spec = importlib.util.spec_from_file_location("doris_handler", folder / "handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler = module.EndpointHandler(str(folder))
    users = [{"user_id": u["user_id"], "posts": u["posts"]} for u in cohort["test"].to_list()[:3]]
    expected = doris_predictor.predict(handler.predictor, users, explain=True)
    one = handler({"inputs": users[0]})
    assert one["probability"] == pytest.approx(expected[0]["probability"]) and one["explanation"]
    assert one == expected[0]
    plain = handler({"inputs": users, "parameters": {"explain": False}})
    assert [o["probability"] for o in plain] == pytest.approx([o["probability"] for o in expected])
    assert "explanation" not in plain[0]
    with pytest.raises(ValueError, match="no posts|posts"):
        handler({"inputs": {"user_id": "u", "posts": []}})
    with pytest.raises(ValueError, match='"parameters"'):
        handler({"inputs": users, "parameters": {"top_k": 3}})
    with pytest.raises(ValueError, match="inputs"):
        handler({"parameters": {}})
