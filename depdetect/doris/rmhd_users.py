"""A SIMULATED user cohort from the real RMHD posts (construct-tracker's sample) -> the `users` schema.

    depdetect data rmhd-users OUT_DIR [--users 1000] [--seed 42]

Real posts, simulated users (see depdetect.doris.data.rmhd_user_cohort): depressed users (1:19) draw a minority of
their 10-40 posts from r/depression and r/suicidewatch and the rest from 10 non-clinical subreddits; control users post
in the non-clinical subreddits with an occasional post from the other mental-health subreddits. Posts keep their
real dates and appear in date order. The post pool is split 7:1:2 before users are drawn, so no post is shared
between splits. Use it for offline tests and benchmarks; results on it say nothing about real user timelines.
"""

from __future__ import annotations

import argparse

from ..corpora.common import add_push_arguments, count_at_least, save_dataset
from . import MIN_COHORT_USERS as MIN_USERS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="depdetect data rmhd-users", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir")
    parser.add_argument("--users", type=count_at_least(MIN_USERS), default=1000,
                        help=f"Users in all (at least {MIN_USERS}: every split needs depressed and control users).")
    parser.add_argument("--seed", type=int, default=42)
    add_push_arguments(parser, licensed=False)
    args = parser.parse_args(argv)
    from ..hub import publish_corpus
    from .data import rmhd_user_cohort

    data = rmhd_user_cohort(num_users=args.users, seed=args.seed)
    save_dataset(data, args.out_dir)
    print({name: f"{len(split)} users, {sum(split['label'])} depressed" for name, split in data.items()})
    if args.push_to_hub:
        publish_corpus(
            data,
            args.push_to_hub,
            "rmhd_users",
            "rmhd-users",
            "other",
            title="Simulated user cohort from RMHD posts (depdetect)",
            description="A SIMULATED cohort: real Reddit posts from the RMHD sample (Low et al. 2020, as shipped by "
                        "construct-tracker 1.0.16) grouped into made-up users. Depressed users (1:19) take a minority "
                        "of their 10-40 posts from r/depression and r/suicidewatch, the rest from non-clinical "
                        "subreddits; control users post in non-clinical subreddits with an occasional post from other "
                        "mental-health subreddits. Posts keep their real dates, in date order.",
            schema="users",
            source="Posts: Reddit Mental Health Dataset (Low et al. 2020, JMIR), public research data. The grouping "
                   "into users is this package's simulation.",
            limits="Real posts, simulated users: timelines, prevalence and labels are constructed, so results on it "
                   "say nothing about real users. Labels come from subreddit membership, not clinical assessment.",
            private=args.private,
            i_have_permission=getattr(args, "i_have_permission", False),
        )


if __name__ == "__main__":
    main()
