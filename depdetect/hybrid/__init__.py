"""The Hybrid classifier (IJECE 2026): a pretrained transformer + BiLSTM + CNN with AWVTI and NAS explanations.

configuration_hybrid.py, modeling_hybrid.py and pipeline_hybrid.py travel with saved models (torch and
transformers only); arguments.py holds the command line's settings, data.py the `posts` schema and the RMHD
default task, recipe.py training, predictor.py prediction and evaluation, card.py the model card, views.py the
HTML report's section and the demo's tab, early.py its users' streams for early risk detection. The classes are
exported by `depdetect` itself. This file is light (standard library only): the registry reads SPEC at start-up.
"""

from ..systems import SystemSpec

SPEC = SystemSpec(
    name="hybrid",
    cli_name="hybrid",
    unit="text",
    paper=("An interpretable deep learning framework for early detection of depression using hybrid architectures "
           "(IJECE 16(2), 2026, pp. 895-904)", "https://doi.org/10.11591/ijece.v16i2.pp895-904"),
    description="Train the Hybrid (PTLM + BiLSTM + CNN, IJECE 2026) on texts; default data: the RMHD sample. Writes a "
                "Hub-ready folder (weights, config, remote code, tokenizer, metrics.json, model card).",
    arguments="depdetect.hybrid.arguments:HybridArguments",
    trainer="depdetect.hybrid.recipe:train_hybrid",
    predictor="depdetect.hybrid.predictor",
    card="depdetect.hybrid.card:folder_card",
    views="depdetect.hybrid.views",
    model_type="depdetect_hybrid",
    artifacts=("config.json", "model.safetensors"),
    required_files=("config.json", "tokenizer_config.json"),
    remote_code=True,
    transformers_auto="depdetect.hybrid.auto:register",
    pipeline_task="depression-detection",
    exporter="depdetect.hybrid.export:export_graph",
    explanations=("nas", "awvti", "integrated_gradients", "occlusion"),
    explanation_unit="word",
    unit_removal="deleted: the word's tokens are taken out of the input ids, [CLS] and [SEP] stay; a [MASK] or [PAD] "
                 "in their place would still be something the encoder reads",
    early="depdetect.hybrid.early:HybridStreams",
    demo_title="Text (Hybrid)",
    shows="the label, P(depression) and the words highlighted by NAS or AWVTI.",
)
