"""Corpus converters: raw corpora -> DatasetDicts in depdetect's schemas (`depdetect data CORPUS ...`).

Each module has `main(argv)`; `datasets_scripts/<corpus>.py` runs the same. Heavy imports happen inside the
functions, so `depdetect data CORPUS --help` answers at once.
"""

#: corpus name on the command line -> (module, one-line description)
CORPORA = {
    "esconv": ("esconv", "ESConv dialogues (JSON) -> interviews"),
    "daic-woz": ("daic_woz", "your licensed DAIC-WOZ copy -> interviews (never publish it)"),
    "interviews-jsonl": ("interviews_jsonl", "check / export / push your own interviews JSONL"),
    "swdd": ("swdd", "SWDD (Sina Weibo Depression Dataset) -> users"),
    "erisk": ("erisk", "your licensed CLEF eRisk copy (XML + golden truth) -> users (never publish it)"),
    "rmhd-interviews": ("rmhd_interviews", "SIMULATED interviews with known deciding turns from RMHD posts"),
    "rmhd-users": ("rmhd_users", "a SIMULATED user cohort from the bundled RMHD posts -> users"),
    "users-jsonl": ("users_jsonl", "check / export / push your own users JSONL"),
}
