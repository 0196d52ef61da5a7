"""The Hybrid classifier (IJECE 2026): a pretrained transformer + BiLSTM + CNN with AWVTI and NAS explanations.

configuration_hybrid.py, modeling_hybrid.py and pipeline_hybrid.py travel with saved models (torch and
transformers only); arguments.py holds the command line's settings, data.py the `posts` schema and the RMHD
default task, recipe.py training, evaluation and prediction. The classes are exported by `depdetect` itself.
"""
