"""SIMULATED interviews with known deciding turns from the real RMHD posts -> the `interviews` schema.

    depdetect data rmhd-interviews OUT_DIR [--train 200] [--validation 50] [--test 50] [--seed 0] [--max_words 40]

Real posts, simulated interviews (see depdetect.dual_encoder.simulated): 8-20 turns each; the prompts are neutral
interviewer questions drawn at random; k responses (0-8) are the first sentences of r/depression or r/suicidewatch
posts and carry importance 1, the others come from 10 non-clinical subreddits (importance 0); score = 3k (0-24,
PHQ-8-like), label = score >= 10. The post pool is split before interviews are drawn, so no post is shared between
splits. Use it to measure whether a model's attention finds the deciding turns (Recall@k); results on it say nothing
about clinical interviews.
"""

from __future__ import annotations

import argparse

from ..corpora.common import add_push_arguments, count_at_least, save_dataset


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="depdetect data rmhd-interviews", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir")
    parser.add_argument("--train", type=count_at_least(2), default=200, help="Training interviews.")
    parser.add_argument("--validation", type=count_at_least(2), default=50, help="Validation interviews.")
    parser.add_argument("--test", type=count_at_least(2), default=50, help="Test interviews.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max_words", type=count_at_least(1), default=40,
                        help="Words per response (first sentences of a post).")
    add_push_arguments(parser, licensed=False)
    args = parser.parse_args(argv)
    from ..hub import publish_corpus
    from .simulated import rmhd_interviews

    data = rmhd_interviews(args.train, args.validation, args.test, seed=args.seed, max_words=args.max_words)
    save_dataset(data, args.out_dir)
    print({name: f"{len(split)} interviews, {sum(split['label'])} with score >= 10" for name, split in data.items()})
    if args.push_to_hub:
        publish_corpus(
            data,
            args.push_to_hub,
            "rmhd_interviews",
            "rmhd-interviews",
            "other",
            title="Simulated interviews with known deciding turns, from RMHD posts (depdetect)",
            description="SIMULATED interviews: neutral interviewer questions paired with the first sentences of real "
                        "Reddit posts from the RMHD sample (Low et al. 2020, as shipped by construct-tracker 1.0.16). "
                        "k of each interview's 8-20 responses come from r/depression or r/suicidewatch "
                        "(importance 1), the others from 10 non-clinical subreddits (importance 0); score = 3k "
                        "(0-24), label = score >= 10. Posts are never shared between splits.",
            schema="interviews",
            source="Posts: Reddit Mental Health Dataset (Low et al. 2020, JMIR), public research data. Prompts, the "
                   "grouping into interviews and the scores are this package's simulation.",
            limits="Simulated: the score is a rule over subreddit membership, not a clinical assessment; the "
                   "interviews are not conversations (prompts and responses are unrelated). Use it to check whether "
                   "attention finds known deciding turns, never as evidence about clinical interviews.",
            private=args.private,
            i_have_permission=getattr(args, "i_have_permission", False),
        )


if __name__ == "__main__":
    main()
