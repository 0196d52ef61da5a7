"""The MHIM dual encoder (arXiv 2505.24609): interview-level severity from prefix + sentence encodings per turn.

configuration_dual_encoder.py, modeling_dual_encoder.py and pipeline_dual_encoder.py travel with saved models
(torch and transformers only); mhim.py is masked hard instance mining, arguments.py the command line's settings
(and `MHIMConfig`), data.py the `interviews` schema and collator, recipe.py two-phase training, cross-validation,
evaluation and prediction. The classes are exported by `depdetect` itself.
"""
