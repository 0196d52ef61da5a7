"""The MHIM dual encoder (arXiv 2505.24609): interview-level severity from prefix + sentence encodings per turn.

configuration_dual_encoder.py, modeling_dual_encoder.py and pipeline_dual_encoder.py travel with saved models
(torch and transformers only); mhim.py is masked hard instance mining, arguments.py the command line's settings
(and `MHIMConfig`), data.py the `interviews` schema and collator, recipe.py two-phase training and
cross-validation, predictor.py prediction and evaluation, card.py the model card, views.py the HTML report's section
and the demo's tab. The classes are exported by `depdetect` itself. This file is light (standard library only): the
registry reads SPEC at start-up.
"""

from ..systems import SystemSpec

SPEC = SystemSpec(
    name="dual_encoder",
    cli_name="dual-encoder",
    unit="interview",
    paper=("Explainable Depression Detection using Masked Hard Instance Mining (arXiv 2505.24609)",
           "https://arxiv.org/abs/2505.24609"),
    description="Train the MHIM dual encoder (arXiv 2505.24609) on interviews: Phase 1 (donor) and, with --mhim, "
                "Phase 2 (receiver); or K-fold cross-validation with --folds.",
    arguments="depdetect.dual_encoder.arguments:DualEncoderArguments",
    trainer="depdetect.dual_encoder.recipe:train_dual_encoder",
    predictor="depdetect.dual_encoder.predictor",
    card="depdetect.dual_encoder.card:folder_card",
    views="depdetect.dual_encoder.views",
    model_type="depdetect_dual_encoder",
    artifacts=("config.json", "model.safetensors"),
    required_files=("config.json", "tokenizer_config.json"),
    output_names=("donor", "receiver"),
    remote_code=True,
    transformers_auto="depdetect.dual_encoder.auto:register",
    pipeline_task="depression-scoring",
    explain_when_evaluating=True,
    explanations=("attention", "occlusion"),
    explanation_unit="turn",
    unit_removal="left out the way MHIM hides turns (never encoded, skipped by the BiLSTM and the attention pooling), "
                 "as if the turn had not happened",
    demo_title="Interview (dual encoder)",
    corpora=(("rmhd-interviews", "depdetect.dual_encoder.rmhd_interviews",
              "SIMULATED interviews with known deciding turns from RMHD posts"),),
    exporter="depdetect.dual_encoder.export:export_graph",
    shows="the severity score (with its interval where the model has one) and the attention per interview turn.",
)
