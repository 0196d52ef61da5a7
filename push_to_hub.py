"""Publish a trained depdetect output folder (Hybrid, dual encoder or DORIS) to the Hugging Face Hub.

    python push_to_hub.py OUTPUT_DIR REPO_ID [--private] [--revision BRANCH] [--commit-message MSG]
                          [--card-template PATH]

Uploads the weights (safetensors) or trees (XGBoost JSON), the config (with `auto_map`), the remote-code and
pipeline files, the tokenizer, metrics.json and a fresh model card whose results table comes from metrics.json
and whose usage snippet is pinned to the uploaded revision. Checks everything before the first byte is sent;
the local folder is only read. Log in first (`hf auth login`) or set HF_TOKEN.
"""

from __future__ import annotations

import argparse
import logging
import sys

from depdetect.hub import PublishError, push_folder


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output_dir", help="A folder train.py wrote (outputs/hybrid, outputs/dual_encoder/receiver, outputs/doris).")
    parser.add_argument("repo_id", help="namespace/name of the model repo (created when missing).")
    parser.add_argument("--private", action="store_true", help="Create the repo as private.")
    parser.add_argument("--revision", default=None, help="Branch to push to (created from main when missing).")
    parser.add_argument("--commit-message", default=None)
    parser.add_argument("--card-template", default=None, help="Your own card template (Jinja; see depdetect/model_cards/).")
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s", level=logging.WARNING)
    try:
        result = push_folder(args.output_dir, args.repo_id, private=args.private, revision=args.revision,
                             commit_message=args.commit_message, template=args.card_template)
    except (ValueError, PublishError) as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(1) from err
    print(f"Published {result['kind']} to {result['url']} ({len(result['files'])} files); usage pinned to "
          f"revision {result['pinned_revision']}, latest commit {result['commit']}.")
    return result


if __name__ == "__main__":
    main()
