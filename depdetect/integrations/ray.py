"""Ray Data batch inference with depdetect's models: one callable class per system for
`ray.data.Dataset.map_batches`, each loading a saved folder (or an exported one, or a Hub repo id) once per Ray actor
and scoring pandas batches with what `depdetect predict` runs.

    import ray
    from depdetect.integrations.ray import HybridScorer

    posts = ray.data.read_parquet("posts/")                       # a `text` column (and any others, kept)
    scored = posts.map_batches(HybridScorer, fn_constructor_kwargs={"model": "outputs/hybrid"},
                               batch_size=64, batch_format="pandas", concurrency=2, num_cpus=1)
    scored.write_parquet("scored/")                               # + label, probability

The classes need `pip install depdetect[ray]` (Ray Data) beside the system's own extra. Output columns are the input's
plus the system's predictions (`depdetect predict`'s fields; an input column of the same name, such as a gold `label`,
is kept as `input_label`); explanations (with `explain=True` or method names) are
JSON strings in their own columns, so that every column has one Parquet type. A record that fails the system's checks
stops the job with the system's message and the record's place in its batch: check an input once with
`depdetect predict MODEL FILE --no_explain -o /dev/null` on a sample, or clean it first. Ray writes one file per
block as it goes, so a failed job can leave some: write to a fresh folder.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from ..inference import check_explain, load_system


def plain(value: Any) -> Any:
    """A pandas cell read from Arrow (numpy arrays of dicts, numpy scalars) as plain Python lists, dicts, numbers."""
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


class Scorer:
    """Score pandas batches with a saved depdetect model (the base of the per-system classes; usable directly for any
    registered system).

    Args:
        model: a trained folder, a folder written by `depdetect export`, or a Hub repo id.
        explain: False (predictions only, the default here: explanations cost several forward passes), True for the
            system's paper method, or method names joined by commas.
        device: "cpu", "cuda", ...; None picks as `depdetect predict` does.
        text_column: where the Hybrid's text is (default `text`).
        revision: the Hub revision of `model`.
        threads: torch threads per actor (None: as Ray sets them, one per CPU the actor asked for).
    """

    #: the system a subclass serves (None: whichever the folder holds)
    system: str | None = None

    def __init__(self, model: str, explain: bool | str = False, device: Any = None, text_column: str = "text",
                 revision: str | None = None, threads: int | None = None):
        if threads:
            import torch

            torch.set_num_threads(int(threads))
        self.spec, folder, self.module = load_system(str(model), revision)
        if self.system and self.spec.name != self.system:
            raise ValueError(f"{type(self).__name__} scores {self.system} models; {model} holds a {self.spec.name} "
                             f"model: use depdetect.integrations.ray.Scorer (any system) or the class for it.")
        self.explain = check_explain(self.spec, explain)
        self.text_column = text_column
        self.predictor = self.module.load_predictor(folder, device)

    def __call__(self, batch):
        import pandas as pd

        rows = [{k: plain(v) for k, v in row.items()} for row in batch.to_dict("records")]
        records = [self.module.check_record(row, f"row {i} of a batch of {len(rows)} ({self._name(row)})", False,
                                            text_column=self.text_column) for i, row in enumerate(rows)]
        outputs = self.module.predict(self.predictor, records, explain=self.explain) if records else []
        columns = {name: [self._cell(out.get(name)) for out in outputs] for name in self._names(outputs)}
        kept = batch.reset_index(drop=True).rename(columns={c: f"input_{c}" for c in columns if c in batch.columns})
        return pd.concat([kept, pd.DataFrame(columns, index=range(len(outputs)))], axis=1)

    @staticmethod
    def _name(row: dict) -> str:
        ids = [f"{k}={row[k]!r}" for k in ("id", "user_id", "interview_id", "post_id") if row.get(k) is not None]
        return ", ".join(ids) or "no id column"

    @staticmethod
    def _names(outputs: list[dict]) -> list[str]:
        names: dict[str, None] = {}
        for out in outputs:
            names.update(dict.fromkeys(out))
        return list(names)

    @staticmethod
    def _cell(value: Any) -> Any:
        return json.dumps(value, ensure_ascii=False) if isinstance(value, (list, dict)) else value


class HybridScorer(Scorer):
    """The Hybrid (or its ONNX export): a `text` column in; `label`, `probability` (calibrated), `truncated` out, and
    with `explain` the token weights as a JSON string (`tokens`)."""

    system = "hybrid"


class DualEncoderScorer(Scorer):
    """The MHIM dual encoder: a `turns` column (a list of {prompt, response} per interview) in; `severity` and its
    `interval` (or `label` and `probability` for a classifier) out, and with `explain` the turns' attention (`turns`,
    JSON)."""

    system = "dual_encoder"


class DorisScorer(Scorer):
    """DORIS: `user_id` and `posts` (a list of {text, timestamp}) in; `label` and `probability` out, and with
    `explain` the symptoms, mood course and written explanation (JSON strings). Needs depdetect[doris]."""

    system = "doris"


__all__ = ["DorisScorer", "DualEncoderScorer", "HybridScorer", "Scorer", "plain"]
