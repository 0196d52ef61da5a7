"""Explanations you can check (issue 24): each system's attribution methods and the faithfulness measures on
hand-built models whose answer is known (a model that reads one word, one turn, one post), the measures on the
saved test models through the command line, and the shortcut audit."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from transformers.modeling_outputs import SequenceClassifierOutput

from depdetect import (
    DepressionDetectionPipeline,
    DepressionScoringPipeline,
    DualEncoderConfig,
    DualEncoderForDepressionScoring,
    HybridForSequenceClassification,
    systems,
)
from depdetect.audit import delete_words, history_shape_features, label_word_pattern, read_audit_words
from depdetect.cli import main
from depdetect.dual_encoder.modeling_dual_encoder import DualEncoderOutput
from depdetect.faithfulness import measure_faithfulness

from .conftest import TINY_BERT

WORD = "hopeless"
TEXTS = ["I feel hopeless and tired today", "Some days I am hopeless about the whole thing",
         "the exam went well and I am hopeless at tennis"]


class OneWordHybrid(HybridForSequenceClassification):
    """A Hybrid whose output reads one word only: logit(P(depression)) = 4 x [the word is present] - 2. Its input
    embeddings carry the word in dimension 0 alone (4 for the word, 0 for every other token, [PAD] included)."""

    def setup(self, word_id: int) -> OneWordHybrid:
        with torch.no_grad():
            weight = self.encoder.get_input_embeddings().weight
            weight[:, 0] = 0
            weight[word_id, 0] = 4
        return self

    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None, **kwargs):
        x = inputs_embeds if inputs_embeds is not None else self.encoder.get_input_embeddings()(input_ids)
        mask = attention_mask if attention_mask is not None else torch.ones(x.shape[:2])
        z = (x[..., 0] * mask).sum(-1) - 2
        return SequenceClassifierOutput(logits=torch.stack([torch.zeros_like(z), z], -1))


@pytest.fixture
def one_word(tiny_config, tokenizer):
    model = OneWordHybrid(tiny_config).eval().setup(tokenizer.convert_tokens_to_ids(WORD))
    return DepressionDetectionPipeline(model=model, tokenizer=tokenizer)


def test_integrated_gradients_and_occlusion_find_the_one_word_the_model_reads(one_word):
    full, without = 1 / (1 + np.exp(-2)), 1 / (1 + np.exp(2))  # P(depression) with and without the word
    for out in one_word(TEXTS, explain="integrated_gradients,occlusion"):
        assert out["label"] == "depression"
        for token in out["tokens"]:
            expected = full - without if token["token"] == WORD else 0.0
            # IG: completeness (20 midpoint steps: close, not exact); occlusion: the drop itself
            assert token["integrated_gradients"] == pytest.approx(expected, abs=0.01)
            assert token["occlusion"] == pytest.approx(expected, abs=1e-5)
            assert "nas" not in token and "awvti" not in token


def test_the_measures_say_the_one_word_model_is_explained_by_ig_and_occlusion_not_by_chance(one_word):
    spec = systems.get("hybrid")
    summary = measure_faithfulness(spec, spec.load("predictor"), one_word, [{"text": t} for t in TEXTS],
                                   methods=["integrated_gradients", "occlusion"], resamples=50, progress=False)
    drop = 1 / (1 + np.exp(-2)) - 1 / (1 + np.exp(2))
    for method in ("integrated_gradients", "occlusion"):
        # removing the top word removes the only thing read; keeping it keeps everything
        assert summary[method]["aopc_comprehensiveness"]["value"] == pytest.approx(drop, abs=1e-5)
        assert summary[method]["aopc_sufficiency"]["value"] == pytest.approx(0, abs=1e-5)
    assert summary["random"]["aopc_comprehensiveness"]["value"] < drop / 2
    assert summary["settings"]["unit"] == "word" and summary["settings"]["records"] == 3


def test_integrated_gradients_of_a_real_model_add_up_to_the_change_from_the_baseline(tiny_model, tokenizer):
    enc = tokenizer(TEXTS[0], return_tensors="pt", return_special_tokens_mask=True)
    special = enc.pop("special_tokens_mask")
    target = torch.tensor([1])
    attributions = tiny_model.integrated_gradients(special_tokens_mask=special, target=target, steps=200, **enc)
    baseline_ids = torch.where(special.bool(), enc["input_ids"], torch.zeros_like(enc["input_ids"]))  # [PAD] = 0
    with torch.no_grad():
        p = tiny_model(**enc).logits.softmax(-1)[0, 1]
        p0 = tiny_model(input_ids=baseline_ids, attention_mask=enc["attention_mask"]).logits.softmax(-1)[0, 1]
    assert float(attributions.sum()) == pytest.approx(float(p - p0), abs=2e-3)
    assert float(attributions[special.bool()].abs().sum()) == 0  # [CLS] and [SEP] are not attributed


def test_occlusion_of_a_real_model_is_the_drop_when_the_words_tokens_are_deleted(tiny_model, tokenizer):
    detector = DepressionDetectionPipeline(model=tiny_model, tokenizer=tokenizer)
    text = "I can't sleep, well-being gone"
    out = detector(text, explain="occlusion")
    words = [t["token"] for t in out["tokens"]]
    assert words == ["I", "can't", "sleep", ",", "well-being", "gone"]
    label = 1 if out["label"] == "depression" else 0
    ids = tokenizer(text)["input_ids"]
    with torch.no_grad():
        def p(token_ids):
            return float(tiny_model(input_ids=torch.tensor([token_ids])).logits.softmax(-1)[0, label])

        pieces = tokenizer(text, add_special_tokens=False)["input_ids"]
        kept = [t for t in pieces if t not in tokenizer("well-being", add_special_tokens=False)["input_ids"]]
        expected = p(ids) - p([ids[0], *kept, ids[-1]])
    assert out["tokens"][4]["occlusion"] == pytest.approx(expected, abs=1e-5)


def test_explain_names_are_checked_and_true_false_keep_their_meaning(tiny_model, tokenizer):
    detector = DepressionDetectionPipeline(model=tiny_model, tokenizer=tokenizer)
    assert set(detector(TEXTS[0])["tokens"][0]) == {"token", "awvti", "nas"}
    assert set(detector(TEXTS[0], explain="nas")["tokens"][0]) == {"token", "awvti", "nas"}  # computed together
    assert set(detector(TEXTS[0], explain=["nas", "occlusion"])["tokens"][0]) == {"token", "awvti", "nas",
                                                                                   "occlusion"}
    assert "tokens" not in detector(TEXTS[0], explain=False)
    with pytest.raises(ValueError, match="Unknown explanation method.*integrated_gradients"):
        detector(TEXTS[0], explain="shap")


# -- the dual encoder: a model that reads one turn -----------------------------------------------------------------


class OneTurnScorer(DualEncoderForDepressionScoring):
    """Severity 10 when a visible turn holds the word, else 0; attention spread evenly over the visible turns."""

    word_id = 0

    def forward(self, input_ids=None, attention_mask=None, turn_mask=None, instance_mask=None, **kwargs):
        visible = (turn_mask if turn_mask is not None else torch.ones(input_ids.shape[:2])).bool()
        if instance_mask is not None:
            visible &= ~instance_mask.bool()
        score = 10.0 * ((input_ids == self.word_id).any(-1) & visible).any(-1).float()
        attention = visible.float() / visible.float().sum(-1, keepdim=True)
        return DualEncoderOutput(logits=score[:, None], scores=score, attentions=attention)


INTERVIEW = [{"prompt": "How are you?", "response": "Fine thanks."},
             {"prompt": "And lately?", "response": f"I feel {WORD}."},
             {"prompt": "Work?", "response": "Busy as usual."},
             {"prompt": "Sleep?", "response": "Same as ever."}]


@pytest.fixture
def one_turn(tokenizer):
    enc = {**TINY_BERT, "vocab_size": tokenizer.vocab_size}
    model = OneTurnScorer(DualEncoderConfig(prefix_encoder_config=enc, sentence_encoder_config=enc, prefix_length=2,
                                            projection_size=8, lstm_hidden_size=4, max_turn_length=16)).eval()
    model.word_id = tokenizer.convert_tokens_to_ids(WORD)
    return DepressionScoringPipeline(model=model, tokenizer=tokenizer)


def test_leave_one_turn_out_finds_the_turn_the_model_reads_and_attention_does_not(one_turn):
    out = one_turn(INTERVIEW, explain="occlusion")
    assert out["severity"] == 10
    assert [t["occlusion"] for t in out["turns"]] == [0, 10, 0, 0]
    spec = systems.get("dual_encoder")
    records = [{"turns": INTERVIEW}, {"turns": INTERVIEW[::-1]}]
    summary = measure_faithfulness(spec, spec.load("predictor"), one_turn, records, resamples=50, progress=False)
    assert summary["occlusion"]["aopc_comprehensiveness"]["value"] == 10  # removing the top turn: 10 -> 0
    assert summary["occlusion"]["aopc_sufficiency"]["value"] == 0
    assert summary["attention"]["aopc_comprehensiveness"]["value"] < 10  # even attention points anywhere
    assert summary["settings"]["unit"] == "turn" and "size of the change" in summary["settings"]["measured"]


# -- DORIS: a model that reads one post ----------------------------------------------------------------------------


class OnePostModel:
    """P(depression) = 0.9 when the history holds the post KEY, else 0.2."""

    config = SimpleNamespace(decision_threshold=0.5)

    def predict_proba(self, users, calibrated=True):
        return np.array([0.9 if any(p["text"] == "KEY" for p in u["posts"]) else 0.2 for u in users])


def test_leave_one_post_out_finds_the_post_the_model_reads():
    spec = systems.get("doris")
    system = spec.load("predictor")
    posts = [{"text": t, "timestamp": None} for t in ("a", "b", "KEY", "c", "d", "e")]
    assert system.attributions(OnePostModel(), [{"posts": posts}], "occlusion") == [
        [0, 0, pytest.approx(0.7), 0, 0, 0]]
    summary = measure_faithfulness(spec, system, OnePostModel(), [{"posts": posts}, {"posts": posts[::-1]}],
                                   methods=["occlusion"], resamples=50, progress=False)
    assert summary["occlusion"]["aopc_comprehensiveness"]["value"] == pytest.approx(0.7)
    assert summary["random"]["aopc_comprehensiveness"]["value"] < 0.7


def test_dorises_evidence_ranks_the_cited_posts_first(models, cohort):
    from depdetect import DorisPipeline
    from depdetect.doris.predictor import attributions

    doris = DorisPipeline.from_pretrained(models["doris"])
    user = next(u for u in cohort["test"].to_list() if doris.explain(u)["symptoms"])
    weights = attributions(doris, [user], "evidence")[0]
    cited = {p["text"] for s in doris.explain(user)["symptoms"] for p in s["posts"]}
    ranked = [user["posts"][i]["text"] for i in np.argsort(weights)[::-1][: len(cited)]]
    assert set(ranked) == cited and len(weights) == len(user["posts"])


# -- through the command line, on the saved test models ------------------------------------------------------------


def write_jsonl(path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


@pytest.mark.parametrize("system", ["hybrid", "dual_encoder", "doris"])
def test_evaluate_writes_faithfulness_for_every_method_and_the_audit(system, models, cohort, tmp_path, capsys):
    spec = systems.get(system)
    if system == "hybrid":
        rows = [{"text": f"{t} depression r/depression", "label": i % 2} for i, t in enumerate(TEXTS * 4)]
    elif system == "dual_encoder":
        rows = [{"turns": INTERVIEW[: 2 + i % 3], "score": float(i)} for i in range(6)]
    else:
        rows = cohort["test"].to_list()  # 40 users, 2 depressed: the history-shape baseline needs both classes
    result = main(["evaluate", str(models[system]), write_jsonl(tmp_path / "data.jsonl", rows), "-o",
                   str(tmp_path / "eval.json"), "--faithfulness", "--faithfulness_samples", "4", "--audit",
                   "--bootstrap_resamples", "50", "--baselines", "none", "--no_plots"])
    saved = json.loads((tmp_path / "eval.json").read_text())
    faith = saved["faithfulness"]
    assert set(faith) == {*spec.explanations, "random", "settings"}
    for method in spec.explanations:
        entry = faith[method]["aopc_comprehensiveness"]
        assert entry["interval"][0] <= entry["value"] <= entry["interval"][1] and "vs_random" in entry
    assert faith["settings"]["records"] + faith["settings"]["skipped_under_2_units"] == 4
    printed = capsys.readouterr().out
    assert "Faithfulness of the explanations" in printed and "Shortcut audit" in printed
    audit = result["audit"]
    if system == "hybrid":
        assert audit["label_words"]["words_deleted"] == 24  # "depression" and "r/depression" in each of 12 texts
    elif system == "dual_encoder":
        assert {"responses_only", "prompts_only", "whole_interviews"} <= set(audit)
    else:
        assert "auroc" in audit["history_shape"] and "label_words" in audit


def test_predict_explain_method_on_the_command_line(models, tmp_path):
    source = write_jsonl(tmp_path / "texts.jsonl", [{"text": t} for t in TEXTS])
    main(["predict", str(models["hybrid"]), source, "-o", str(tmp_path / "out.jsonl"), "--explain",
          "nas,integrated_gradients"])
    row = json.loads((tmp_path / "out.jsonl").read_text().splitlines()[0])
    assert set(row["tokens"][0]) == {"token", "awvti", "nas", "integrated_gradients"}
    with pytest.raises(SystemExit) as stopped:
        main(["predict", str(models["dual_encoder"]), source, "--explain", "nas"])
    assert stopped.value.code == 2
    interviews = write_jsonl(tmp_path / "interviews.jsonl", [{"turns": INTERVIEW}])
    main(["predict", str(models["dual_encoder"]), interviews, "-o", str(tmp_path / "turns.jsonl"), "--explain",
          "occlusion"])
    turns = json.loads((tmp_path / "turns.jsonl").read_text())["turns"]
    assert all(set(t) == {"index", "attention", "occlusion"} for t in turns)


def test_a_bad_explain_method_is_refused_before_any_work(models, tmp_path, capsys):
    source = write_jsonl(tmp_path / "texts.jsonl", [{"text": t} for t in TEXTS])
    with pytest.raises(SystemExit):
        main(["predict", str(models["dual_encoder"]), source, "-o", str(tmp_path / "out.jsonl"), "--explain",
              "integrated_gradients"])
    assert "attention, occlusion" in capsys.readouterr().err and not (tmp_path / "out.jsonl").exists()


# -- the audit's pieces --------------------------------------------------------------------------------------------


def test_label_words_are_deleted_as_whole_words_with_endings_and_forum_links():
    pattern = label_word_pattern(read_audit_words(None))
    text, count = delete_words("Depressed again, see r/depression and /r/Anxiety; undepressed? suicidal ideation",
                               pattern)
    assert text == "again, see and /; undepressed? ideation" and count == 4
    assert delete_words("depression", pattern) == (".", 1)  # nothing left: a stand-in the model can read
    assert delete_words("a quiet day", pattern) == ("a quiet day", 0)


def test_audit_words_files_are_read_and_bad_ones_refused(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("\ufeff# mine\nsad*\nblue\n\n")
    assert read_audit_words(path) == ("sad*", "blue")
    path.write_text("# only a comment\n")
    with pytest.raises(ValueError, match="holds no words"):
        read_audit_words(path)
    path.write_text("s*d\n")
    with pytest.raises(ValueError, match="is not a word"):
        read_audit_words(path)


def test_history_shape_features_count_posts_length_and_rate():
    users = [{"posts": [{"text": "a b", "timestamp": "2024-01-01"}, {"text": "c d e f", "timestamp": "2024-01-05"}]},
             {"posts": [{"text": "x", "timestamp": None}]}]
    np.testing.assert_allclose(history_shape_features(users), [[np.log(2), 3.0, 0.5], [0.0, 1.0, 0.0]])


# -- the report and the demo show a second method and the evidence's similarity ------------------------------------


def test_the_report_shows_a_second_method_and_dorises_similarities(models, cohort, tmp_path):
    from depdetect import DorisPipeline
    from depdetect.doris.views import html_section as doris_section
    from depdetect.report_html import render_report

    source = write_jsonl(tmp_path / "texts.jsonl", [{"text": t} for t in TEXTS])
    main(["predict", str(models["hybrid"]), source, "-o", str(tmp_path / "out.jsonl"), "--explain",
          "nas,integrated_gradients", "--html", str(tmp_path / "report.html")])
    page = (tmp_path / "report.html").read_text()
    assert "Words shaded by NAS" in page and "Words shaded by Integrated Gradients" in page
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    alone = render_report("hybrid", rows[:1], [{"text": TEXTS[0]}])
    assert alone.count('title="Integrated Gradients ') == len(rows[0]["tokens"])
    doris = DorisPipeline.from_pretrained(models["doris"])
    user = next(u for u in cohort["test"].to_list() if doris.explain(u)["symptoms"])
    section = doris_section(doris.explain(user), user)
    assert "(similarity 0." in section and "Chosen by similarity, not by a clinical judgement" in section


def test_the_demo_asks_the_pipeline_for_the_method_chosen():
    from depdetect.hybrid.views import explain_text

    class Tab:
        def run(self, text, where, explain=True):
            self.explain = explain
            return {"text": text}, {"label": "depression", "probability": 0.9,
                                    "tokens": [{"token": "a", explain: 0.5}, {"token": "b", explain: -1.0}]}

    tab = Tab()
    label, probability, words = explain_text(tab, "a b", "Occlusion")
    assert tab.explain == "occlusion" and words == [("a", 0.5), ("b", -1.0)] and probability == "0.9000"
    explain_text(tab, "a b", "Integrated Gradients")
    assert tab.explain == "integrated_gradients"


def test_the_cards_explanations_section_says_what_the_numbers_mean():
    from depdetect.cards import explanations_section

    def entry(value, low, high, gain=None):
        out = {"value": value, "interval": [low, high]}
        if gain is not None:
            out["vs_random"] = {"value": gain[0], "interval": list(gain[1:])}
        return out

    faith = {"evidence": {"aopc_comprehensiveness": entry(0.03, 0.01, 0.05, (0.02, 0.005, 0.04)),
                          "aopc_sufficiency": entry(0.10, 0.07, 0.13, (0.07, 0.04, 0.1))},
             "occlusion": {"aopc_comprehensiveness": entry(0.01, -0.01, 0.02, (0.0, -0.02, 0.02)),
                           "aopc_sufficiency": entry(0.0, 0.0, 0.0, (-0.03, -0.05, -0.01))},
             "random": {"aopc_comprehensiveness": entry(0.01, 0.0, 0.02), "aopc_sufficiency": entry(0.03, 0.02, 0.05)},
             "settings": {"unit": "post", "records": 50, "removal": "left out", "measured": "P(label)",
                          "seconds_per_record": {"evidence": 0.0, "occlusion": 0.7}}}
    text = explanations_section({"faithfulness": faith}, "doris")
    assert "## Explanations" in text and "| evidence | +0.030 [+0.010, +0.050] |" in text
    assert "removing what `evidence` points at moves the prediction most" in text
    assert "`occlusion` cannot be told apart from random posts" in text
    assert "the top posts of `evidence` move the prediction *more*" in text
    faith["evidence"]["aopc_comprehensiveness"]["vs_random"]["interval"] = [-0.01, 0.04]
    assert "no method's explanation beats random posts" in explanations_section({"faithfulness": faith}, "doris")
    assert "Faithfulness was not measured" in explanations_section({}, "doris")


def test_the_card_points_to_the_more_faithful_method_when_the_default_is_not_it():
    from depdetect.cards import explanations_section

    def method(value, low):
        return {"aopc_comprehensiveness": {"value": value, "interval": [low, value + 0.1],
                                           "vs_random": {"value": value, "interval": [low, value + 0.1]}},
                "aopc_sufficiency": {"value": 0.0, "interval": [0.0, 0.0],
                                     "vs_random": {"value": -0.05, "interval": [-0.1, -0.01]}}}

    zero = {"value": 0.0, "interval": [0.0, 0.0]}
    faith = {"nas": method(0.15, 0.1), "awvti": method(0.15, 0.1), "integrated_gradients": method(0.29, 0.25),
             "occlusion": method(0.22, 0.18), "random": {"aopc_comprehensiveness": zero, "aopc_sufficiency": zero},
             "settings": {"unit": "word", "records": 10}}
    text = explanations_section({"faithfulness": faith}, "hybrid")
    assert "The default, `nas`, is cheaper but less faithful here" in text
    assert '`explain="integrated_gradients"`' in text
