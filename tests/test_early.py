"""Early risk detection: ERDE_o and F_latency against hand-computed cases, decision policies, DORIS streamed with a
running state (final score = batch score), the Hybrid aggregate, the TF-IDF prefix baseline, the eRisk converter
and `depdetect predict/evaluate --early`."""

from __future__ import annotations

import json
import logging
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from depdetect import DorisPipeline
from depdetect.cli import main
from depdetect.early.metrics import early_risk_metrics, erde, f_latency, latency_penalty, penalty_rate
from depdetect.early.policy import (
    Decision,
    DecisionPolicy,
    Trajectory,
    _decisions_at,
    _window_scores,
    choose_early_policy,
)
from depdetect.early.streams import HybridUserStream, ordered_posts, run_stream

from .conftest import doris_config


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# -- metrics, by hand ----------------------------------------------------------------------------------------------

DECISIONS, DELAYS, LABELS = [1, 0, 1, 0], [3, 9, 2, 7], [1, 1, 0, 0]


def test_erde_matches_the_hand_computed_costs():
    # TP after 3 writings: lc_5(3) = 1 - 1/(1 + e^(3-5)); FN: c_fn = 1; FP: c_fp = share of positives = 0.5; TN: 0
    tp5 = 1 - 1 / (1 + math.exp(3 - 5))
    assert erde(DECISIONS, DELAYS, LABELS, o=5) == pytest.approx(100 * (tp5 + 1 + 0.5 + 0) / 4, abs=1e-9)
    tp50 = 1 - 1 / (1 + math.exp(3 - 50))
    assert erde(DECISIONS, DELAYS, LABELS, o=50) == pytest.approx(100 * (tp50 + 1.5) / 4, abs=1e-9)
    assert erde(DECISIONS, DELAYS, LABELS, o=5, c_fp=0.1) == pytest.approx(100 * (tp5 + 1 + 0.1) / 4, abs=1e-9)
    # a true positive long after the deadline costs almost as much as a miss; at k = o exactly half
    assert erde([1], [500], [1], o=5) == pytest.approx(100.0, abs=1e-9)
    assert erde([1], [5], [1], o=5) == pytest.approx(50.0, abs=1e-9)


def test_f_latency_matches_the_hand_computed_case():
    decisions, delays, labels = [1, 1, 1, 0, 0], [1, 11, 4, 20, 30], [1, 1, 0, 1, 0]
    num_posts = [20, 20, 10, 20, 30]  # median 20
    p = penalty_rate(num_posts)
    assert p == pytest.approx(math.log(3) / 19, abs=1e-12)
    assert latency_penalty([20], p)[0] == pytest.approx(0.5, abs=1e-12)  # 0.5 at the median, by construction
    penalty_11 = -1 + 2 / (1 + math.exp(-p * (11 - 1)))
    speed = 1 - (0 + penalty_11) / 2  # median of the true positives' penalties (k = 1 -> 0, k = 11)
    f1 = 2 / 3  # 2 TP, 1 FP, 1 FN
    out = f_latency(decisions, delays, labels, p)
    assert out["f1"] == pytest.approx(f1, abs=1e-9) and out["speed"] == pytest.approx(speed, abs=1e-9)
    assert out["f_latency"] == pytest.approx(f1 * speed, abs=1e-9)
    assert out["latency_tp"] == 6.0
    full = early_risk_metrics(decisions, delays, labels, num_posts=num_posts, deadlines=(5, 50, 7.5))
    assert full["f_latency"] == pytest.approx(f1 * speed, abs=1e-9) and full["p"] == pytest.approx(p, abs=1e-12)
    assert set(full) >= {"erde_5", "erde_50", "erde_7.5", "latency_tp", "users_flagged", "c_fp"}
    assert full["c_fp"] == pytest.approx(0.6) and full["users_flagged"] == 3


def test_the_evaluate_modules_give_the_hand_computed_values_to_1e_9():
    from depdetect.metrics import load_metric

    tp5 = 1 - 1 / (1 + math.exp(3 - 5))
    out = load_metric("erde").compute(predictions=DECISIONS, delays=DELAYS, references=LABELS, o=[5])
    assert out["erde_5"] == pytest.approx(100 * (tp5 + 1.5) / 4, abs=1e-9)
    p = math.log(3) / 19
    out = load_metric("f_latency").compute(predictions=[1, 1, 1, 0, 0], delays=[1, 11, 4, 20, 30],
                                           references=[1, 1, 0, 1, 0], median_posts=20)
    assert out["f_latency"] == pytest.approx(2 / 3 * (1 - (-1 + 2 / (1 + math.exp(-p * 10))) / 2), abs=1e-9)
    with pytest.raises(ValueError, match="Pass p, or median_posts"):
        load_metric("f_latency").compute(predictions=[1], delays=[1], references=[1])


def test_no_true_positive_gives_zero_f_latency_and_undefined_speed():
    out = f_latency([0, 1], [5, 2], [1, 0], p=0.1)
    assert out["f_latency"] == 0.0 and math.isnan(out["speed"]) and math.isnan(out["latency_tp"])


@pytest.mark.parametrize("decisions, delays, labels, match", [
    ([1, 0], [0, 3], [1, 0], "delays must be whole numbers"),
    ([1, 0], [1.5, 3], [1, 0], "delays must be whole numbers"),
    ([1, 2], [1, 3], [1, 0], "predictions must be 0 or 1"),
    ([1, 0], [1, 3], [1, -1], "references must be 0 or 1"),
    ([1], [1, 3], [1, 0], "one value per user"),
    ([], [], [], "No users"),
])
def test_bad_metric_inputs_are_refused(decisions, delays, labels, match):
    with pytest.raises(ValueError, match=match):
        erde(decisions, delays, labels)
    with pytest.raises(ValueError, match=match):
        f_latency(decisions, delays, labels, p=0.1)


def test_the_default_penalty_rate_needs_more_than_one_post_per_user():
    with pytest.raises(ValueError, match="Pass p explicitly"):
        penalty_rate([1, 1, 2])


# -- decision policies -----------------------------------------------------------------------------------------------

STEPS = Trajectory("u", [1, 2, 3, 4, 5], [0.2, 0.6, 0.4, 0.7, 0.8], label=1)


@pytest.mark.parametrize("policy, expected", [
    (DecisionPolicy(0.5), Decision(1, 2, 1)),
    (DecisionPolicy(0.5, patience=2), Decision(1, 5, 4)),
    (DecisionPolicy(0.5, min_posts=3), Decision(1, 4, 3)),
    (DecisionPolicy(0.5, min_posts=3, patience=3), Decision(0, 5, None)),
    (DecisionPolicy(0.9), Decision(0, 5, None)),
])
def test_policies_decide_at_the_first_clearing_step(policy, expected):
    assert policy.decide(STEPS) == expected


def test_chunked_streams_decide_at_the_posts_read():
    chunked = Trajectory("u", [10, 20, 25], [0.1, 0.7, 0.9], label=1)
    assert DecisionPolicy(0.5).decide(chunked) == Decision(1, 20, 1)
    assert DecisionPolicy(0.5, min_posts=21).decide(chunked) == Decision(1, 25, 2)


@pytest.mark.parametrize("kwargs, match", [({"min_posts": 0}, "min_posts"), ({"patience": 1.5}, "patience"),
                                           ({"threshold": float("nan")}, "finite")])
def test_bad_policies_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DecisionPolicy(**{"threshold": 0.5, **kwargs})


def random_trajectories(seed: int, users: int = 40) -> list[Trajectory]:
    rng = np.random.default_rng(seed)
    out = []
    for u in range(users):
        label = int(u % 4 == 0)
        n = int(rng.integers(3, 30))
        drift = 0.02 * label
        scores = np.clip(0.2 + np.cumsum(rng.normal(drift, 0.05, n)), 0, 1)
        out.append(Trajectory(f"u{u}", list(range(1, n + 1)), scores.tolist(), label=label))
    return out


@pytest.mark.parametrize("min_posts, patience", [(1, 1), (3, 2), (5, 3)])
def test_the_fast_threshold_search_decides_like_the_policy_and_finds_the_best_f_latency(min_posts, patience):
    trajectories = random_trajectories(min_posts)
    labels = np.array([t.label for t in trajectories])
    totals = np.array([t.num_posts for t in trajectories])
    windows = [_window_scores(t, min_posts, patience) for t in trajectories]
    p = penalty_rate(totals)
    best = -1.0
    for threshold in np.unique(np.concatenate([t.scores for t in trajectories]))[::7]:
        fast = _decisions_at([w[0] for w in windows], [w[1] for w in windows], totals, float(threshold))
        slow = [DecisionPolicy(float(threshold), min_posts, patience).decide(t) for t in trajectories]
        np.testing.assert_array_equal(fast[0], [d.decision for d in slow])
        np.testing.assert_array_equal(fast[1], [d.delay for d in slow])
        best = max(best, f_latency(fast[0], fast[1], labels, p)["f_latency"])
    policy, found = choose_early_policy(trajectories, min_posts, patience)
    decisions = [policy.decide(t) for t in trajectories]
    achieved = f_latency([d.decision for d in decisions], [d.delay for d in decisions], labels, p)["f_latency"]
    assert achieved == pytest.approx(found["f_latency"]) and achieved >= best - 1e-12
    assert (policy.min_posts, policy.patience) == (min_posts, patience) and "validation" in policy.rule


def test_a_threshold_cannot_be_chosen_without_depressed_validation_users():
    controls = [Trajectory("c", [1, 2], [0.1, 0.2], label=0)]
    with pytest.raises(ValueError, match="no depressed user"):
        choose_early_policy(controls)


# -- DORIS streamed -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def doris_folder(tmp_path_factory, tiny_embedder, cohort) -> Path:
    folder = tmp_path_factory.mktemp("doris") / "doris"
    DorisPipeline(doris_config(), embedder=tiny_embedder).fit(cohort["train"]).save_pretrained(
        folder, include_embedder=True)
    return folder


class CountingEmbedder:
    """The tiny embedder, recording how many texts each call embeds."""

    def __init__(self, inner):
        self.inner, self.identifier, self.dimension = inner, inner.identifier, inner.dimension
        self.calls: list[int] = []

    def encode(self, texts):
        self.calls.append(len(texts))
        return self.inner.encode(texts)


def test_streamed_scores_equal_batch_scores_after_every_post(doris_folder, tiny_embedder, cohort):
    batch = DorisPipeline.from_pretrained(doris_folder, embedder=tiny_embedder)
    users = cohort["test"].to_list()
    expected = batch.predict_proba(users)
    streaming = DorisPipeline.from_pretrained(doris_folder, embedder=tiny_embedder)  # its own, empty caches
    finals = []
    for user in users:
        stream = streaming.stream(user["user_id"])
        for post in user["posts"]:
            stream.add(post)
        finals.append(stream.probability)
    np.testing.assert_allclose(finals, expected, atol=1e-6)
    # every prefix, not only the last: the score after post k is the batch score of the first k posts
    user = max(users, key=lambda u: len(u["posts"]))
    stream = streaming.stream(user["user_id"])
    steps = [stream.add(post) for post in user["posts"]]
    prefixes = batch.predict_proba([{**user, "posts": user["posts"][:k]} for k in range(1, len(steps) + 1)])
    np.testing.assert_allclose(steps, prefixes, atol=1e-6)
    # chunks of 4 posts end at the same score
    chunked = run_stream(streaming.stream(user["user_id"]), user, chunk_size=4)["trajectory"]
    assert chunked.posts_seen[-1] == len(user["posts"]) and len(chunked.scores) == math.ceil(len(steps) / 4)
    assert chunked.scores[-1] == pytest.approx(steps[-1], abs=1e-6)


def test_adding_a_post_embeds_that_post_only(doris_folder, tiny_embedder, cohort):
    counting = CountingEmbedder(tiny_embedder)
    doris = DorisPipeline.from_pretrained(doris_folder, embedder=counting)
    doris.template_embeddings()
    user = max(cohort["test"].to_list(), key=lambda u: len(u["posts"]))
    stream = doris.stream(user["user_id"])
    summaries = []
    original = doris.summarize

    def counted(post_lists):
        summaries.append(len(post_lists[0]))
        return original(post_lists)

    doris.summarize = counted
    for post in user["posts"]:
        before = len(counting.calls)
        stream.add(post)
        assert counting.calls[before:] in ([1], [1, 1])  # the new post, and the refreshed summary when emotional
    # the summary is refreshed only when an emotional post arrives (and once at the start)
    assert len(summaries) == len(set(summaries)) and len(summaries) <= stream.emotional_count + 1
    sizes = stream.state_bytes()
    assert sizes["fixed"] == 8 * (2 * tiny_embedder.dimension + 9) + 4 * tiny_embedder.dimension
    assert sizes["mood_posts"] == stream.emotional_count


def test_evidence_at_the_end_is_what_explain_reports(doris_folder, tiny_embedder, cohort):
    doris = DorisPipeline.from_pretrained(doris_folder, embedder=tiny_embedder)
    user = cohort["test"].to_list()[0]
    stream = doris.stream(user["user_id"])
    for post in user["posts"]:
        stream.add(post)
    evidence, explained = stream.evidence(), doris.explain(user)
    assert evidence.pop("posts_seen") == len(user["posts"])
    assert evidence["probability"] == pytest.approx(explained.pop("probability"), abs=1e-6)
    evidence.pop("probability")
    assert evidence == explained


def test_out_of_order_and_undated_posts_are_handled_and_said(doris_folder, tiny_embedder, cohort, caplog):
    doris = DorisPipeline.from_pretrained(doris_folder, embedder=tiny_embedder)
    user = cohort["test"].to_list()[1]
    shuffled = {**user, "posts": user["posts"][::-1]}
    with caplog.at_level(logging.WARNING):
        result = run_stream(doris.stream(user["user_id"]), shuffled)
    assert "not in time order" in result["note"] and user["user_id"] in caplog.text
    assert result["trajectory"].scores[-1] == pytest.approx(doris.predict_proba(user)[0], abs=1e-6)
    undated = {**user, "posts": [{"text": p["text"], "timestamp": None} for p in user["posts"]]}
    result = run_stream(doris.stream(user["user_id"]), undated)
    assert "no timestamp" in result["note"] and "order given" in result["note"]
    assert result["trajectory"].scores[-1] == pytest.approx(doris.predict_proba(undated)[0], abs=1e-6)
    # a live stream that receives an older post places it by its time and warns once
    stream = doris.stream("live")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        for post in shuffled["posts"]:
            stream.add(post)
    assert caplog.text.count("older than the one before it") == 1 and "'live'" in caplog.text
    assert stream.probability == pytest.approx(doris.predict_proba(user)[0], abs=1e-6)


def test_a_user_without_posts_is_named(doris_folder, tiny_embedder):
    doris = DorisPipeline.from_pretrained(doris_folder, embedder=tiny_embedder)
    with pytest.raises(ValueError, match="'nobody'.*no posts"):
        run_stream(doris.stream("nobody"), {"user_id": "nobody", "posts": []})
    with pytest.raises(ValueError, match="no posts yet"):
        doris.stream("nobody").evidence()
    with pytest.raises(ValueError, match="text"):
        doris.stream("u").add({"text": "  ", "timestamp": None})


def test_with_an_llm_backend_each_refresh_is_one_call_and_replays_are_free(doris_folder, tiny_embedder, cohort):
    from depdetect.doris import OpenAIAnnotator

    from .chat_server import ChatServer

    user = max(cohort["test"].to_list(), key=lambda u: len(u["posts"]))
    with ChatServer() as server:
        doris = DorisPipeline.from_pretrained(doris_folder, embedder=tiny_embedder,
                                              annotator=OpenAIAnnotator(server.url, "m"))
        stream = doris.stream(user["user_id"])
        refreshes = 0
        for post in user["posts"]:
            before = stream.emotional_count
            stream.add(post)
            refreshes += stream.emotional_count > before
        summaries = [p for p in server.prompts if "summarize the mood course" in p]
        assert len(summaries) == refreshes  # one LLM call per emotional post (none for the empty start)
        asked = len(server.prompts)
        replay = doris.stream(user["user_id"])
        for post in user["posts"]:
            replay.add(post)
        assert len(server.prompts) == asked and replay.probability == stream.probability
        assert doris.predict_proba(user)[0] == pytest.approx(stream.probability, abs=1e-6)


# -- the Hybrid aggregate and the TF-IDF prefix baseline -------------------------------------------------------------


def test_the_hybrid_aggregate_keeps_running_mean_max_and_share():
    probabilities = {"a": 0.2, "b": 0.9, "c": 0.5, "d": 0.1}
    posts = [{"text": t, "timestamp": None} for t in "abcd"]
    expected = {"mean": [0.2, 0.55, 1.6 / 3, 0.425], "max": [0.2, 0.9, 0.9, 0.9], "share": [0, 0.5, 2 / 3, 0.5]}
    for aggregate, values in expected.items():
        stream = HybridUserStream(lambda texts: [probabilities[t] for t in texts], aggregate, post_threshold=0.5)
        np.testing.assert_allclose([stream.add(p) for p in posts], values)
    evidence = stream.evidence()
    assert [t["post"] for t in evidence["top_posts"]] == [1, 2, 0] and "text" not in json.dumps(evidence)
    with pytest.raises(ValueError, match="aggregate"):
        HybridUserStream(lambda t: [0.5], "median")


def test_tfidf_is_refitted_for_every_prefix_length(cohort):
    from depdetect.baselines import fit_baselines
    from depdetect.early.baselines import tfidf_prefix_trajectories

    train, test = cohort["train"].to_list(), cohort["test"].to_list()[:6]
    trajectories = tfidf_prefix_trajectories(train, test, chunk_size=5)
    for user, trajectory in zip(test, trajectories):
        n = len(user["posts"])
        assert trajectory.posts_seen == [min(n, k) for k in range(5, n + 5, 5)]
    k = 10  # step 2: a model fitted on the training users' first 10 posts scores the users' first 10
    again = fit_baselines([[p["text"] for p in u["posts"][:k]] for u in train], [u["label"] for u in train],
                          [[p["text"] for p in u["posts"][:k]] for u in test], which="tfidf")["tfidf_logreg"]
    np.testing.assert_allclose([t.scores[1] for t in trajectories], again)


# -- eRisk ----------------------------------------------------------------------------------------------------------

def writing(title: str, date: str, text: str) -> str:
    return (f"<WRITING>\n\t<TITLE> {title} </TITLE>\n\t<DATE> {date} </DATE>\n\t<INFO> reddit post </INFO>\n"
            f"\t<TEXT> {text} </TEXT>\n</WRITING>\n")


def individual(subject: str, writings: list[str]) -> str:
    return f"<INDIVIDUAL>\n<ID>{subject}</ID>\n" + "".join(writings) + "</INDIVIDUAL>\n"


def erisk_files(root: Path) -> tuple[Path, Path, Path]:
    """An eRisk collection in both released forms (whole histories; per-chunk files) and its golden truth."""
    subjects = {
        "subject11": (1, [("Cannot sleep", "2015-03-02 04:10:00", "Another night awake &amp; alone."),
                          ("", "2015-01-10 12:00:00", "I feel empty most days."),
                          ("", "2015-02-01 09:30:00", "   ")]),  # empty: dropped
        "subject22": (0, [("Fishing trip", "2014-07-04 10:00:00", "Caught three trout & a pike."),
                          ("Recipe", "2014-08-01 18:00:00", "")]),
        "subject33": (0, [("", "2016-05-05 05:05:05", "New bike day.")]),
    }
    whole, chunked = root / "whole", root / "chunks"
    whole.mkdir()
    for subject, (_, rows) in subjects.items():
        (whole / f"{subject}.xml").write_text(individual(subject, [writing(*row) for row in rows]))
        for chunk, row in enumerate(rows, start=1):  # one writing per chunk
            folder = chunked / f"chunk {chunk}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{subject}_{chunk}.xml").write_text(individual(subject, [writing(*row)]))
    truth = root / "risk_golden_truth.txt"
    truth.write_text("".join(f"{s}\t{label}\n" for s, (label, _) in subjects.items()))
    return whole, chunked, truth


def test_erisk_xml_in_both_forms_becomes_time_ordered_users(tmp_path):
    from depdetect.corpora.erisk import load_collection

    whole, chunked, truth = erisk_files(tmp_path)
    for source in (whole, chunked):
        users = {u["user_id"]: u for u in load_collection(source, truth)}
        assert sorted(users) == ["subject11", "subject22", "subject33"]
        first = users["subject11"]
        assert first["label"] == 1 and [p["timestamp"] for p in first["posts"]] == [
            "2015-01-10T12:00:00", "2015-03-02T04:10:00"]  # sorted by date, the empty writing dropped
        assert first["posts"][1]["text"] == "Cannot sleep\nAnother night awake & alone."
        assert users["subject22"]["posts"][1]["text"] == "Recipe"  # a title alone is a post


def test_erisk_converter_cli_writes_splits_and_refuses_to_push_without_permission(tmp_path, capsys):
    from datasets import load_from_disk

    whole, chunked, truth = erisk_files(tmp_path)
    with pytest.raises(SystemExit):  # 1 depressed subject: too few to split, said so
        main(["data", "erisk", str(whole), str(truth), str(tmp_path / "few")])
    for i in range(4, 17):  # more subjects: 4 depressed, 12 controls in all
        subject = f"subject{i}{i}"
        (whole / f"{subject}.xml").write_text(individual(subject, [writing("", "2015-01-01 10:00:00", f"post {i}")]))
        truth.write_text(truth.read_text() + f"{subject} {int(i < 7)}\n")
    out = tmp_path / "erisk"
    main(["data", "erisk", str(whole), str(truth), str(out)])
    data = load_from_disk(str(out))
    assert {name: len(split) for name, split in data.items()} == {"train": 11, "validation": 2, "test": 3}
    assert sum(sum(split["label"]) for split in data.values()) == 4
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "erisk", str(whole), str(truth), str(tmp_path / "again"), "--push_to_hub", "me/erisk"])
    assert exit_info.value.code == 1 and "Refusing to push erisk" in capsys.readouterr().err


def test_erisk_golden_truth_mismatches_are_listed(tmp_path):
    from depdetect.corpora.erisk import load_collection

    whole, _, truth = erisk_files(tmp_path)
    truth.write_text("subject11 1\nsubject22 0\nsubject99 1\n")
    with pytest.raises(ValueError) as err:
        load_collection(whole, truth)
    assert "subject33" in str(err.value) and "subject99" in str(err.value)
    truth.write_text("subject11 1\nsubject22 yes\n")
    with pytest.raises(ValueError, match=r"risk_golden_truth.txt:2: expected `subject_id label`"):
        load_collection(whole, truth)


def test_erisk_bad_xml_and_bad_dates_are_named(tmp_path):
    from depdetect.corpora.erisk import read_subject_file

    path = tmp_path / "subject1.xml"
    path.write_text(individual("subject1", [writing("t", "yesterday", "x")]))
    with pytest.raises(ValueError, match="subject1.xml, subject subject1, writing 0: <DATE> 'yesterday'"):
        read_subject_file(path)
    path.write_text("<INDIVIDUAL><ID>s</ID><WRITING><TEXT>unclosed</WRITING></INDIVIDUAL>")
    with pytest.raises(ValueError, match=r"subject1.xml:1 is not well-formed XML"):
        read_subject_file(path)
    path.write_text(individual("subject1", [writing("", "2015-01-01 00:00:00", "")]))
    truth = tmp_path / "truth.txt"
    truth.write_text("subject1 0\n")
    from depdetect.corpora.erisk import load_collection

    with pytest.raises(ValueError, match="without any writing with text: subject1"):
        load_collection(path, truth)
    assert load_collection(path, truth, drop_empty_subjects=True) == []


# -- the command line --------------------------------------------------------------------------------------------


def write_users(path: Path, users: list[dict]) -> str:
    path.write_text("".join(json.dumps(u) + "\n" for u in users))
    return str(path)


def test_evaluate_early_reports_erde_and_f_latency_next_to_the_usual_metrics(doris_folder, cohort, tmp_path):
    test = write_users(tmp_path / "test.jsonl", cohort["test"].to_list())
    validation = write_users(tmp_path / "validation.jsonl", cohort["validation"].to_list())
    result = main(["evaluate", str(doris_folder), test, "--early", "--validation", validation, "--min_posts", "2",
                   "--bootstrap_resamples", "50", "--erde_o", "5", "50", "10", "-o", str(tmp_path / "ev.json")])
    saved = json.loads((tmp_path / "ev.json").read_text())
    early = saved["early"]
    users = saved["users"]
    again = early_risk_metrics([u["flagged"] for u in users], [u["delay"] for u in users],
                               [u["label"] for u in users], num_posts=[u["num_posts"] for u in users],
                               deadlines=(5, 50, 10))
    nan_as_none = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in again.items()}
    assert early["metrics"] == pytest.approx(nan_as_none)
    assert early["policy"]["min_posts"] == 2 and "validation.jsonl" in early["policy"]["rule"]
    assert {"erde_5", "erde_50", "erde_10", "f_latency", "latency_tp"} <= set(early["metrics"])
    assert {"auroc", "auprc", "f1"} <= set(saved["metrics"]) and "baselines" in saved["report"]
    assert all(u["delay"] >= 2 for u in users if u["flagged"])
    assert (tmp_path / "ev_plots" / "trajectories.png").stat().st_size > 1000
    # the final streamed scores are the batch scores of `depdetect evaluate` without --early
    batch = DorisPipeline.from_pretrained(doris_folder).predict_proba(cohort["test"])
    np.testing.assert_allclose([u["final_probability"] for u in users], batch, atol=1e-6)
    assert result["early"]["metrics"]["users_flagged"] == sum(u["flagged"] for u in users)


def test_predict_early_writes_trajectories_decisions_and_a_plot(doris_folder, cohort, tmp_path):
    users = cohort["test"].to_list()[:5]
    source = write_users(tmp_path / "users.jsonl", users)
    main(["predict", str(doris_folder), source, "--early", "--threshold", "0.0001", "--patience", "2",
          "-o", str(tmp_path / "out.jsonl")])
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    for row, user in zip(rows, users):
        assert row["user_id"] == user["user_id"] and row["num_posts"] == len(user["posts"])
        assert [s["posts_seen"] for s in row["trajectory"]] == list(range(1, len(user["posts"]) + 1))
        decision = DecisionPolicy(0.0001, patience=2).decide(
            Trajectory(row["user_id"], [s["posts_seen"] for s in row["trajectory"]],
                       [s["probability"] for s in row["trajectory"]]))
        assert row["flagged"] == bool(decision.decision) and row["decided_after_posts"] == decision.delay
        if row["flagged"]:
            assert row["decided_at"] == user["posts"][decision.delay - 1]["timestamp"]
            assert row["evidence"]["posts_seen"] == decision.delay
    assert (tmp_path / "out_plots" / "trajectories.png").is_file()


def test_predict_early_with_a_hybrid_model_aggregates_post_probabilities(tmp_path, tokenizer, cohort):
    import torch

    from depdetect import DepressionDetectionPipeline, HybridConfig, HybridForSequenceClassification

    from .conftest import TINY_BERT

    torch.manual_seed(0)
    model = HybridForSequenceClassification(HybridConfig(
        encoder_config={**TINY_BERT, "vocab_size": tokenizer.vocab_size}, lstm_hidden_size=8, cnn_num_filters=4,
        fc_hidden_size=16))
    model.save_pretrained(tmp_path / "hybrid")
    tokenizer.save_pretrained(tmp_path / "hybrid")
    users = cohort["test"].to_list()[:3]
    source = write_users(tmp_path / "users.jsonl", users)
    main(["predict", str(tmp_path / "hybrid"), source, "--early", "--no_explain",  # the default aggregate: max
          "-o", str(tmp_path / "out.jsonl")])
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    detector = DepressionDetectionPipeline(model=HybridForSequenceClassification.from_pretrained(tmp_path / "hybrid"),
                                           tokenizer=tokenizer)
    for row, user in zip(rows, users):
        posts = detector([p["text"] for p in user["posts"]], explain=False)
        expected = np.maximum.accumulate([p["probability"] for p in posts])
        np.testing.assert_allclose([s["probability"] for s in row["trajectory"]], expected, rtol=1e-5)
        assert "evidence" not in row
    labelled = write_users(tmp_path / "labelled.jsonl", cohort["test"].to_list()[:12])
    result = main(["evaluate", str(tmp_path / "hybrid"), labelled, "--early", "--aggregate", "mean", "--baselines",
                   "none", "--bootstrap_resamples", "20", "--no_plots", "-o", str(tmp_path / "ev.json")])
    assert "single posts" in result["early"]["policy"]["rule"]
    means = [np.mean([p["probability"] for p in detector([q["text"] for q in u["posts"]], explain=False)])
             for u in cohort["test"].to_list()[:12]]
    np.testing.assert_allclose([u["final_probability"] for u in result["users"]], means, rtol=1e-5)


def test_early_flags_need_early_and_the_dual_encoder_is_refused(doris_folder, cohort, tmp_path, capsys):
    from depdetect.early.recipe import StreamingSystem

    source = write_users(tmp_path / "users.jsonl", cohort["test"].to_list()[:2])
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", str(doris_folder), source, "--chunk_size", "5"])
    assert exit_info.value.code == 2 and "--chunk_size applies to early risk detection: add --early" in (
        capsys.readouterr().err)
    with pytest.raises(SystemExit):
        main(["evaluate", str(doris_folder), source, "--early", "--threshold", "0.5", "--validation", source])
    assert "not both" in capsys.readouterr().err
    with pytest.raises(ValueError, match="the dual-encoder model scores interviews. Use a model of a system that "
                                         "streams users: hybrid, doris"):
        StreamingSystem("dual_encoder", None)
    empty = write_users(tmp_path / "empty.jsonl", [{"user_id": "ghost", "posts": [], "label": 0}])
    with pytest.raises(SystemExit):
        main(["evaluate", str(doris_folder), empty, "--early"])
    assert "'ghost' has no posts" in capsys.readouterr().err


def test_ordered_posts_keeps_dated_histories_in_order_without_a_note():
    user = {"user_id": "u", "posts": [{"text": "a", "timestamp": "2020-01-01"},
                                      {"text": "b", "timestamp": "2020-01-02"}]}
    assert ordered_posts(user) == (user["posts"], None)


def test_long_texts_are_cut_by_words_before_tokenizing_without_changing_the_embedding(tiny_embedder):
    from depdetect.embedder import cut_words

    assert cut_words("a b  c", 3) == "a b  c" and cut_words("a\nb  c d e f g", 3) == "a\nb  c"
    assert cut_words("  one   two three four five six", 2) == "  one   two"
    limit = tiny_embedder.model.max_seq_length
    long = " ".join(f"word{i % 97}, sad" for i in range(3 * limit))  # 6x the window in words
    assert len(cut_words(long, 4 * limit).split()) == 4 * limit
    np.testing.assert_array_equal(tiny_embedder.encode([long])[0],
                                  tiny_embedder.model.encode([long], normalize_embeddings=True)[0])


@pytest.mark.parametrize("value", ["1.5", "-0.1", "nan"])
def test_an_early_threshold_outside_zero_one_is_refused(value, capsys, tmp_path):
    users = tmp_path / "users.jsonl"
    users.write_text(json.dumps({"user_id": "u", "posts": ["a post"]}) + "\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", str(tmp_path / "no-model"), str(users), "--early", "--threshold", value])
    assert exit_info.value.code == 2
    assert "--decision_threshold is a probability: it must be in [0, 1]" in capsys.readouterr().err


def test_erisk_writings_that_arrive_twice_are_refused_or_kept_once_with_the_flag(tmp_path, capsys):
    """Issue 23, finding 5: a whole-history file beside its chunk files (or a subject copied twice) duplicated every
    writing silently."""
    from depdetect.corpora.erisk import load_collection

    whole, chunked, truth = erisk_files(tmp_path)
    both = tmp_path / "both"
    shutil.copytree(whole, both / "whole")
    shutil.copytree(chunked, both / "chunks")
    with pytest.raises(ValueError, match=r"arrived twice: e.g. subject subject\d\d has the same writing in .*--dedup"):
        load_collection(both, truth)
    kept = {u["user_id"]: u["posts"] for u in load_collection(both, truth, dedupe_writings=True)}
    assert kept == {u["user_id"]: u["posts"] for u in load_collection(whole, truth)}
    copy = tmp_path / "copied"
    shutil.copytree(whole, copy)
    shutil.copy(whole / "subject22.xml", copy / "subject22 (1).xml")
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "erisk", str(copy), str(truth), str(tmp_path / "out")])
    assert exit_info.value.code == 2 and "subject22" in capsys.readouterr().err


def test_a_byte_order_mark_is_read_away_in_golden_truth_and_xml(tmp_path):
    from depdetect.corpora.erisk import load_collection

    whole, _, truth = erisk_files(tmp_path)
    truth.write_bytes(b"\xef\xbb\xbf" + truth.read_bytes())
    xml = whole / "subject11.xml"
    xml.write_bytes(b"\xef\xbb\xbf" + xml.read_bytes())
    users = {u["user_id"]: u["label"] for u in load_collection(whole, truth)}
    assert users == {"subject11": 1, "subject22": 0, "subject33": 0}


def test_a_large_erisk_file_is_streamed_not_held_whole(tmp_path):
    """Issue 23, finding 7: a 200 MB eRisk file peaked at 1.8 GB (the text, its tree and the posts at once); the
    reader now streams the writings (what stays is the posts themselves)."""
    import tracemalloc

    from depdetect.corpora.erisk import read_subject_file

    body = "I could not sleep again and the day felt long. " * 200  # ~9 kB a writing
    path = tmp_path / "big.xml"
    with path.open("w") as handle:
        handle.write("<INDIVIDUAL><ID>s1</ID>")
        for i in range(2000):
            handle.write(writing("", f"2015-01-01 00:{i // 60 % 60:02d}:{i % 60:02d}", body))
        handle.write("</INDIVIDUAL>")
    size = path.stat().st_size
    tracemalloc.start()
    subject, posts, _ = read_subject_file(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert subject == "s1" and len(posts) == 2000
    assert peak < 2.2 * size, f"peak {peak / 2**20:.0f} MiB for a {size / 2**20:.0f} MiB file"


def test_one_long_history_shows_progress_in_posts(models, tmp_path, capsys):
    """Issue 23, finding 7: `--early` on one user with thousands of posts showed nothing for minutes (the bar
    counted users); it now counts posts."""
    posts = [{"text": f"post number {i} about my week", "timestamp": f"2020-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}"}
             for i in range(600)]
    source = write_users(tmp_path / "one.jsonl", [{"user_id": "long", "posts": posts}])
    main(["predict", str(models["hybrid"]), source, "--early", "--no_explain", "-o", str(tmp_path / "out.jsonl")])
    err = capsys.readouterr().err
    assert "streaming:" in err and "/600 [" in err  # a bar over the 600 posts (drawn at its start at least)


def test_a_bare_ampersand_after_the_first_writing_reads_each_writing_once(tmp_path):
    """The streamed reader falls back to reading the whole file at a bare '&'; the writings read before it are not
    counted twice."""
    from depdetect.corpora.erisk import read_subject_file

    path = tmp_path / "subject5.xml"
    path.write_text(individual("subject5", [writing("", f"2015-01-0{d} 10:00:00", text) for d, text in
                                            ((1, "first"), (2, "second"), (3, "fish & chips"), (4, "last"))]))
    subject, posts, _ = read_subject_file(path)
    assert subject == "subject5" and [p["text"] for p in posts] == ["first", "second", "fish & chips", "last"]
