"""Corpus converters: raw corpora -> DatasetDicts in depdetect's schemas (`depdetect data CORPUS ...`).

Each module has `main(argv)`; `datasets_scripts/<corpus>.py` runs the same. Heavy imports happen inside the
functions, so `depdetect data CORPUS --help` answers at once. The converters here read public or licensed corpora;
a system's own simulated corpus lives in its folder and is declared by its spec (`corpora`), and `all_corpora()`
lists both.
"""

from __future__ import annotations

from .. import systems

#: corpus name on the command line -> (module, one-line description)
CORPORA = {
    "esconv": ("depdetect.corpora.esconv", "ESConv dialogues (JSON) -> interviews"),
    "daic-woz": ("depdetect.corpora.daic_woz", "your licensed DAIC-WOZ copy -> interviews (never publish it)"),
    "interviews-jsonl": ("depdetect.corpora.interviews_jsonl", "check / export / push your own interviews JSONL"),
    "swdd": ("depdetect.corpora.swdd", "SWDD (Sina Weibo Depression Dataset) -> users"),
    "erisk": ("depdetect.corpora.erisk",
              "your licensed CLEF eRisk copy (XML + golden truth) -> users (never publish it)"),
    "users-jsonl": ("depdetect.corpora.users_jsonl", "check / export / push your own users JSONL"),
}


def all_corpora() -> dict[str, tuple[str, str]]:
    """CORPORA and every registered system's own corpora, by name on the command line."""
    out = dict(CORPORA)
    for spec in systems.specs():
        out.update({name: (module, text) for name, module, text in spec.corpora})
    return out
