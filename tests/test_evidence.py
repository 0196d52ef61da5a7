"""Simulated interviews with known deciding turns, the turn-encoding cache, the prompt-bias guard, the second RMHD
task and their bad inputs (issue: evidence for the papers' claims)."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

from depdetect import DualEncoderConfig, DualEncoderForDepressionScoring
from depdetect.cli import main
from depdetect.dual_encoder.data import interviews_from_records, tokenize_interviews
from depdetect.dual_encoder.simulated import (
    NEUTRAL_PROMPTS,
    first_sentences,
    rmhd_interview_folds,
    rmhd_interviews,
    rmhd_response_pool,
    score_for,
)
from depdetect.dual_encoder.turn_cache import TurnEncodingCache

from .conftest import TINY_BERT
from .test_dual_encoder import INTERVIEWS, batch_of
from .test_train_dual import dual_args


@pytest.fixture(scope="module")
def pool():
    return {kind: set(texts) for kind, texts in rmhd_response_pool().items()}


@pytest.fixture(scope="module")
def simulated():
    return rmhd_interviews(train=40, validation=10, test=10, seed=3)


# -- simulated interviews ------------------------------------------------------------------------------------------


def test_importance_labels_and_scores_are_correct_by_construction(simulated, pool):
    assert not pool["clinical"] & pool["control"]
    for split in simulated.values():
        for row in split:
            turns = row["turns"]
            assert 8 <= len(turns) <= 20
            for turn in turns:
                # a turn is important exactly when its response is a clinical post (checked against the pools)
                expected = {"clinical": 1, "control": 0}["clinical" if turn["response"] in pool["clinical"]
                                                          else "control"]
                assert turn["response"] in pool["clinical"] | pool["control"]
                assert turn["importance"] == expected
                assert turn["prompt"] in NEUTRAL_PROMPTS
            k = sum(t["importance"] for t in turns)
            assert row["score"] == score_for(k) == min(24, 3 * k)
            assert row["label"] == int(row["score"] >= 10)
            assert len({t["response"] for t in turns}) == len(turns)  # no post twice in one interview
    scores = np.concatenate([split["score"] for split in simulated.values()])
    assert scores.min() == 0 and scores.max() >= 12 and 0.1 < np.mean(scores >= 10) < 0.6


def test_generator_is_deterministic_per_seed(simulated):
    again = rmhd_interviews(train=40, validation=10, test=10, seed=3)
    other = rmhd_interviews(train=40, validation=10, test=10, seed=4)
    assert all(again[s].to_list() == simulated[s].to_list() for s in simulated)
    assert other["train"].to_list() != simulated["train"].to_list()


def responses_of(split) -> set[str]:
    return {t["response"] for turns in split["turns"] for t in turns}


def test_no_post_appears_in_two_splits_or_two_folds_test_sets(simulated):
    seen = {name: responses_of(split) for name, split in simulated.items()}
    assert not seen["train"] & seen["test"] and not seen["train"] & seen["validation"]
    assert not seen["validation"] & seen["test"]
    tests = []
    for _k, fold in rmhd_interview_folds(folds=3, interviews=30, seed=1):
        names = {name: responses_of(split) for name, split in fold.items()}
        assert not names["test"] & (names["train"] | names["validation"]) and not names["train"] & names["validation"]
        assert len(fold["test"]) == 10 and len(fold["train"]) + len(fold["validation"]) == 20
        tests.append(names["test"])
    assert not tests[0] & tests[1] and not tests[1] & tests[2]


def test_first_sentences_keep_whole_sentences_up_to_the_word_limit():
    text = "Short one. Then a second sentence that is longer than the first. A third!"
    two = "Short one. Then a second sentence that is longer than the first."
    assert first_sentences(text, max_words=40, min_words=3) == two
    assert first_sentences(text, max_words=40, min_words=1) == "Short one."
    assert first_sentences("word " * 100, max_words=40).split() == ["word"] * 40


def test_data_command_writes_simulated_interviews(tmp_path, capsys):
    from datasets import load_from_disk

    main(["data", "rmhd-interviews", str(tmp_path / "sim"), "--train", "6", "--validation", "3", "--test", "3"])
    data = load_from_disk(str(tmp_path / "sim"))
    assert {k: len(v) for k, v in data.items()} == {"train": 6, "validation": 3, "test": 3}
    assert data["train"][0]["interview_id"].startswith("rmhd-sim-0-train")


def test_a_model_trained_on_simulated_interviews_says_so_and_reports_recall(tiny_encoder_dir, tmp_path, capsys):
    main(["data", "rmhd-interviews", str(tmp_path / "sim"), "--train", "8", "--validation", "4", "--test", "4"])
    out = tmp_path / "run"
    main(["train", "dual-encoder", "--encoder", tiny_encoder_dir, "--dataset_name", str(tmp_path / "sim"),
          "--output_dir", str(out), "--max_length", "48", "--prefix_length", "2", "--projection_size", "8",
          "--lstm_hidden_size", "4", "--num_epochs", "1", "--bootstrap_resamples", "10"])
    assert "**SIMULATED interviews**" in (out / "donor" / "README.md").read_text()
    saved = json.loads((out / "donor" / "metrics.json").read_text())["test"]
    assert saved["recall_interviews_skipped"] + saved["recall_interviews_scored"] == 4
    assert saved["recall_interviews_scored"] >= 1 and 0 <= saved["recall@50%"] <= 1  # importance labels are read


# -- the turn-encoding cache ---------------------------------------------------------------------------------------


def small_model(tokenizer, dropout: float) -> DualEncoderForDepressionScoring:
    enc = {**TINY_BERT, "vocab_size": tokenizer.vocab_size}
    config = DualEncoderConfig(prefix_encoder_config=enc, sentence_encoder_config=enc, prefix_length=3,
                               projection_size=8, lstm_hidden_size=4, dropout=dropout, max_turn_length=32,
                               encoder_batch_size=2)
    torch.manual_seed(0)
    return DualEncoderForDepressionScoring(config)


@pytest.fixture
def dropout_model(tokenizer):
    return small_model(tokenizer, 0.3).train()


def one_step(model, batch, cached: bool):
    model = copy.deepcopy(model)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    before = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    if cached:
        batch = TurnEncodingCache(model).attach(batch)
        assert batch["sentence_embeddings"].shape == (*batch["turn_mask"].shape, TINY_BERT["hidden_size"])
    torch.manual_seed(1)  # the same dropout draws for both
    out = model(**batch)
    out.loss.backward()
    optimizer.step()
    return out.loss.item(), {n: p.detach() - before[n] for n, p in model.named_parameters() if p.requires_grad}


def test_one_step_with_and_without_the_cache_gives_the_same_loss_and_update(dropout_model, tokenizer):
    batch = batch_of(tokenizer, INTERVIEWS)
    assert dropout_model.prefix_encoder.training and not dropout_model.sentence_encoder.training  # frozen: eval
    loss, update = one_step(dropout_model, batch, cached=False)
    cached_loss, cached_update = one_step(dropout_model, batch, cached=True)
    assert cached_loss == pytest.approx(loss, abs=1e-6)
    assert all(torch.allclose(update[n], cached_update[n], atol=1e-6) for n in update)
    assert any(float(u.abs().max()) > 1e-4 for u in update.values())  # the step did change the model


def test_length_sorted_chunks_change_nothing_but_the_padding(tokenizer):
    batch = batch_of(tokenizer, INTERVIEWS + [{"interview_id": "c", "score": 1.0, "turns": [
        {"prompt": "", "response": "ok"}, {"prompt": "Why?", "response": " ".join(["long"] * 25)}]}])
    tiny_dual = small_model(tokenizer, 0.0).eval()
    with torch.no_grad():
        tiny_dual.attention.context.weight.normal_(0, 2.0)  # a sharp attention, so turn order matters
        tiny_dual.config.length_sorted_chunks = True
        sorted_out = tiny_dual(**batch)
        tiny_dual.config.length_sorted_chunks = False
        plain_out = tiny_dual(**batch)
    assert torch.allclose(sorted_out.scores, plain_out.scores, atol=1e-5)
    assert torch.allclose(sorted_out.attentions, plain_out.attentions, atol=1e-5)


def test_cache_encodes_each_distinct_turn_once_and_refuses_a_training_sentence_encoder(dropout_model, tokenizer):
    ds = tokenize_interviews(interviews_from_records(INTERVIEWS + INTERVIEWS[:1], "t"), tokenizer, 32)
    cache = TurnEncodingCache(dropout_model)
    cache.fill(ds)
    assert len(cache.store) == 4  # 3 + 1 distinct turns; the repeated interview adds none
    dropout_model.config.train_sentence_encoder = True
    with pytest.raises(ValueError, match="cannot be cached"):
        TurnEncodingCache(dropout_model)


def test_cache_on_and_off_train_to_the_same_metrics(tiny_encoder_dir, esconv_jsonl, tmp_path):
    # dropout 0: the chunks' shapes differ with and without sorting, which would change dropout's random draws
    common = ("--dropout", "0", "--num_epochs", "1", "--mhim")
    on = main(dual_args(tiny_encoder_dir, esconv_jsonl, tmp_path / "on", *common)).metrics
    off = main(dual_args(tiny_encoder_dir, esconv_jsonl, tmp_path / "off", *common, "--no_turn_cache")).metrics
    for role in ("donor", "receiver"):
        assert on[role]["test"] == pytest.approx(off[role]["test"], abs=1e-4, nan_ok=True)
    assert on["donor"]["turn_encoding_seconds"] > 0 and off["donor"]["turn_encoding_seconds"] == 0


def test_killed_mhim_run_resumes_in_phase_two_to_the_same_result(tiny_encoder_dir, esconv_jsonl, tmp_path):
    common = ("--checkpointing_steps", "2", "--keep_checkpoints", "2", "--mhim")
    full = main(dual_args(tiny_encoder_dir, esconv_jsonl, tmp_path / "full", *common)).metrics
    calls = []

    class Killed(RuntimeError):
        pass

    def kill(step):
        calls.append(step)
        if len(calls) == 19:  # Phase 1 takes 14 steps: this is step 5 of Phase 2
            raise Killed

    with pytest.raises(Killed):
        main(dual_args(tiny_encoder_dir, esconv_jsonl, tmp_path / "killed", *common), on_step=kill)
    assert calls[13:15] == [14, 1]  # the kill did happen in Phase 2
    resumed = main(dual_args(tiny_encoder_dir, esconv_jsonl, tmp_path / "killed", *common,
                             "--resume_from_checkpoint", "latest")).metrics
    for role in ("donor", "receiver"):
        assert resumed[role]["test"] == pytest.approx(full[role]["test"], nan_ok=True)


# -- the prompt-bias guard -----------------------------------------------------------------------------------------


def test_prompts_drop_removes_every_prompt_token(tokenizer):
    data = interviews_from_records(INTERVIEWS, "t")
    dropped = tokenize_interviews(data, tokenizer, 32, prompts="drop")
    kept = tokenize_interviews(data, tokenizer, 32, prompts="keep")
    for row, drop_row, keep_row in zip(data, dropped, kept):
        for turn, ids, types, keep_ids in zip(row["turns"], drop_row["turn_input_ids"],
                                              drop_row["turn_token_type_ids"], keep_row["turn_input_ids"]):
            assert ids == tokenizer(turn["response"], truncation=True, max_length=32)["input_ids"]
            assert set(types) == {0}
            if turn["prompt"]:
                prompt_only = set(tokenizer(turn["prompt"], add_special_tokens=False)["input_ids"])
                response = set(tokenizer(turn["response"], add_special_tokens=False)["input_ids"])
                assert prompt_only - response and not (prompt_only - response) & set(ids)
                assert (prompt_only - response) & set(keep_ids)  # kept, they are read


def test_prompts_drop_is_saved_stated_on_the_card_and_followed_by_the_pipeline(tiny_encoder_dir, esconv_jsonl,
                                                                              tmp_path):
    from depdetect.dual_encoder.predictor import load_predictor

    out = tmp_path / "drop"
    main(dual_args(tiny_encoder_dir, esconv_jsonl, out, "--num_epochs", "1", "--prompts", "drop"))
    assert json.loads((out / "donor" / "config.json").read_text())["prompts"] == "drop"
    assert "the participant's responses only" in (out / "donor" / "README.md").read_text()
    scorer = load_predictor(out / "donor")
    turns = [{"prompt": "How are you?", "response": "Tired all the time."},
             {"prompt": "And work?", "response": "I cannot focus."}]
    other = [dict(t, prompt="Completely different question about the weather?") for t in turns]
    assert scorer(turns)["severity"] == pytest.approx(scorer(other)["severity"], abs=1e-6)
    scorer.model.config.prompts = "keep"  # the same weights reading prompts: now they matter
    assert scorer(turns)["severity"] != pytest.approx(scorer(other)["severity"], abs=1e-6)


def test_keep_is_the_default_and_the_card_warns_about_prompt_bias(tiny_encoder_dir, esconv_jsonl, tmp_path):
    out = tmp_path / "keep"
    main(dual_args(tiny_encoder_dir, esconv_jsonl, out, "--num_epochs", "1"))
    assert json.loads((out / "donor" / "config.json").read_text())["prompts"] == "keep"
    assert "Burdisso et al. 2024" in (out / "donor" / "README.md").read_text()
    with pytest.raises(ValueError, match="`prompts` must be 'keep' or 'drop'"):
        DualEncoderConfig(prompts="sometimes")


# -- bad input -----------------------------------------------------------------------------------------------------


def test_importance_list_of_the_wrong_length_or_values_names_the_interview():
    turns = [{"prompt": "a?", "response": "b."}, {"prompt": "c?", "response": "d."}]
    with pytest.raises(ValueError, match=r"interview 'p7'.*one value \(1, 0 or -1\) per turn: 2 turns, got 3"):
        interviews_from_records([{"interview_id": "p7", "score": 1.0, "turns": turns, "importance": [1, 0, 0]}],
                                "f.jsonl")
    with pytest.raises(ValueError, match=r"interview 'p8', turn 1: `importance` must be 1, 0 or -1"):
        interviews_from_records([{"interview_id": "p8", "score": 1.0, "turns": turns, "importance": [1, 2]}],
                                "f.jsonl")
    ok = interviews_from_records([{"interview_id": "p9", "score": 1.0, "turns": turns, "importance": [1, 0]}], "f")
    assert [t["importance"] for t in ok[0]["turns"]] == [1, 0]


def test_esconv_without_emotion_type_names_the_dialogue(tmp_path):
    from depdetect.corpora.esconv import esconv_records

    dialogue = {"survey_score": {"seeker": {"initial_emotion_intensity": "4"}},
                "dialog": [{"speaker": "seeker", "content": "hi"}, {"speaker": "supporter", "content": "hello"},
                           {"speaker": "speaker", "content": "I feel down"}]}
    ok = {**dialogue, "emotion_type": "depression"}
    assert esconv_records([ok])[0]["label"] == 1
    with pytest.raises(ValueError, match=r"dialogue 1 \(esconv-1\) has no `emotion_type`"):
        esconv_records([ok, dialogue], "my.json")


def test_second_rmhd_task_is_depression_against_other_mental_health_subreddits():
    from depdetect.hybrid.data import load_rmhd

    data = load_rmhd(seed=0, task="mental_health")
    assert {k: (len(v), sum(v["label"])) for k, v in data.items()} == {
        "train": (3094, 182), "validation": (663, 39), "test": (663, 39)}
    with pytest.raises(ValueError, match="Unknown RMHD task 'x'"):
        load_rmhd(task="x")
