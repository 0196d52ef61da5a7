"""`depdetect demo MODEL [MODEL ...]`: a Gradio app (Blocks) on 127.0.0.1 with one tab per trained model.

* Hybrid: a text -> label, P(depression) and the words highlighted by NAS (or AWVTI);
* dual encoder: an editable table of prompt / response turns -> the score (with its interval when the model has
  one) or P(depression), the attention per turn as a bar chart, and the turns shaded by attention;
* DORIS: a table of dated posts (or an uploaded users JSONL file: its first user) -> P(depression), the symptoms with
  their evidence posts, the mood course with its timeline, and the written explanation.

Every tab shows that this is research software and not a diagnostic tool. Nothing typed is logged or stored:
Gradio's analytics are off, flagging is off, examples are not cached, and depdetect logs no text. Bad input shows the
pipeline's own error message in the page. Gradio is an optional dependency (`pip install depdetect[demo]`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # read by gradio at import: no telemetry

from .report_html import NOTICE, doris_section, dual_encoder_section  # noqa: E402

PRIVACY = ("Nothing you type is logged or stored by this app: Gradio's analytics are off and inputs are not "
           "flagged or cached.")
EXAMPLE_TEXTS = ["I can't sleep, I feel empty and nothing I do matters anymore.",
                 "We went hiking on Sunday and the weather was lovely."]
EXAMPLE_TURNS = [["How have you been sleeping lately?", "Badly. I wake up at four and can't get back to sleep."],
                 ["What do you do for fun?", "Not much anymore. I used to paint but I stopped."],
                 ["How is work?", "Fine, busy as usual."]]
EXAMPLE_POSTS = [["2024-01-03", "Started a new job today, nervous but excited."],
                 ["2024-02-11", "I haven't slept properly in weeks and I feel worthless."],
                 ["2024-02-20", "Nothing feels worth doing anymore, I just stay in bed."]]


def _gradio():
    try:
        import gradio as gr
    except ImportError as err:
        raise ValueError("The demo needs Gradio: pip install 'depdetect[demo]' (or pip install gradio).") from err
    return gr


def _rows(table) -> list[list[Any]]:
    """The rows of a Gradio Dataframe value (pandas DataFrame, dict or list), blank rows left out."""
    if table is None:
        return []
    if hasattr(table, "values") and hasattr(table, "columns"):
        rows = table.values.tolist()
    elif isinstance(table, dict):
        rows = table.get("data") or []
    else:
        rows = list(table)
    return [["" if v is None else v for v in row] for row in rows
            if any(str(v).strip() for v in row if v is not None)]


class RemoteCode:
    """A torch model (Hybrid, dual encoder) loaded through transformers with the model's own remote code, as a Hub
    Space does: the same check_record / predict as a recipe, with nothing of depdetect installed. The pipeline
    checks its input itself (empty text, an interview with no turns) and says what is wrong."""

    KINDS = {"depression-detection": "hybrid", "depression-scoring": "dual_encoder"}

    def __init__(self, model: str, device: Any = None, revision: str | None = None):
        from transformers import pipeline

        self.predictor = pipeline(model=model, revision=revision, trust_remote_code=True, device=device)
        if self.predictor.task not in self.KINDS:
            raise ValueError(f"{model!r} is not a depdetect Hybrid or dual-encoder model (its pipeline task is "
                             f"{self.predictor.task!r}).")
        self.kind = self.KINDS[self.predictor.task]

    def check_record(self, record: Any, where: str, labelled: bool) -> dict:
        return {"text": record} if self.kind == "hybrid" else record

    def predict(self, predictor, records: list[dict], explain: bool = True) -> list[dict]:
        """One call per record, so that the pipeline's message speaks of "the input" / "the interview", not of
        "inputs[0]"."""
        if self.kind == "hybrid":
            return [predictor(r["text"], explain=explain) for r in records]
        return [predictor({"turns": r["turns"]}) for r in records]


class Tab:
    """One model of the demo: the system's recipe (check_record, predict) and the loaded predictor; with
    `remote_code`, a torch model's published pipeline loaded through transformers instead (see RemoteCode)."""

    def __init__(self, model: str, device: Any = None, revision: str | None = None, remote_code: bool = False):
        self.model = model
        if remote_code:
            self.system = RemoteCode(model, device, revision)
            self.kind, self.predictor = self.system.kind, self.system.predictor
            return
        from .inference import load_system

        self.kind, self.folder, self.system = load_system(model, revision)
        self.predictor = self.system.load_predictor(self.folder, device)

    def run(self, record: Any, where: str) -> tuple[dict, dict]:
        """(checked record, explained prediction); a gr.Error with the pipeline's message on bad input."""
        gr = _gradio()
        try:
            checked = self.system.check_record(record, where, False)
            return checked, self.system.predict(self.predictor, [checked], explain=True)[0]
        except ValueError as err:
            raise gr.Error(str(err)) from None

    # -- the three systems --------------------------------------------------------------------------------------

    def explain_text(self, text: str, view: str = "NAS"):
        _, out = self.run(text, "the text")
        key = "awvti" if view == "AWVTI" else "nas"
        top = max([abs(float(t[key])) for t in out["tokens"]] + [1e-12])
        highlighted = [(t["token"], round(float(t[key]) / top, 4)) for t in out["tokens"]]
        return out["label"], round(float(out["probability"]), 4), highlighted

    def score_interview(self, table):
        import pandas as pd

        turns = [{"prompt": str(row[0]), "response": str(row[1])} for row in _rows(table)]
        record, out = self.run({"turns": turns}, "the interview")
        if "severity" in out:
            summary = f"**Severity {out['severity']:.2f}**"
            if out.get("interval"):
                low, high = out["interval"]
                summary += f" (interval {low:.2f} to {high:.2f}, from the model's conformal calibration)"
        else:
            summary = f"**{out['label']}**, P(depression) = {out['probability']:.3f}"
        bars = pd.DataFrame({"turn": [f"turn {t['index']}" for t in out["turns"]],
                             "attention": [float(t["attention"]) for t in out["turns"]]})
        return summary, bars, dual_encoder_section(out, record)

    def explain_user(self, table, upload=None):
        if upload is not None:
            from .data import read_records

            try:
                rows = read_records(getattr(upload, "name", upload))
            except (ValueError, OSError) as err:
                raise _gradio().Error(str(err)) from None
            if not rows:
                raise _gradio().Error("The uploaded file holds no users.")
            record = rows[0][1]
        else:
            record = {"user_id": "demo-user", "posts": [
                {"timestamp": str(row[0]).strip() or None, "text": str(row[1])} for row in _rows(table)]}
        _, out = self.run(record, "the user")
        summary = f"**{out['label']}**, P(depression) = {out['probability']:.3f}"
        return summary, doris_section(out)


def build_demo(models: list[str], device: Any = None, revision: str | None = None, remote_code: bool = False):
    """The Gradio Blocks app with one tab per model (a trained folder or Hub repo id). `remote_code` loads torch
    models through transformers with their own code (what a Space written by `depdetect push --space` does)."""
    gr = _gradio()
    if not models:
        raise ValueError("Pass at least one trained model folder or Hub repo id.")
    tabs = [Tab(model, device, revision, remote_code) for model in models]
    counts: dict[str, int] = {}
    with gr.Blocks(title="depdetect demo", analytics_enabled=False) as demo:
        gr.Markdown("# depdetect: explainable depression detection (research demo)")
        for tab in tabs:
            counts[tab.kind] = counts.get(tab.kind, 0) + 1
            suffix = "" if counts[tab.kind] == 1 else f"_{counts[tab.kind]}"
            name = {"hybrid": "Text (Hybrid)", "dual_encoder": "Interview (dual encoder)",
                    "doris": "User posts (DORIS)"}[tab.kind]
            with gr.Tab(f"{name}: {Path(str(tab.model)).name}"):
                gr.Markdown(f"**Notice.** {NOTICE} {PRIVACY}", elem_classes=["depdetect-notice"])
                if tab.kind == "hybrid":
                    text = gr.Textbox(label="Text", lines=4, elem_id=f"hybrid-text{suffix}")
                    view = gr.Radio(["NAS", "AWVTI"], value="NAS", label="Word importance")
                    button = gr.Button("Explain", variant="primary", elem_id=f"hybrid-submit{suffix}")
                    label = gr.Textbox(label="Label", elem_id=f"hybrid-label{suffix}")
                    probability = gr.Number(label="P(depression)")
                    words = gr.HighlightedText(label="Words (darker: more important)", elem_id=f"hybrid-words{suffix}")
                    gr.Examples([[t, "NAS"] for t in EXAMPLE_TEXTS], [text, view])
                    button.click(tab.explain_text, [text, view], [label, probability, words],
                                 api_name=f"explain_text{suffix}")
                elif tab.kind == "dual_encoder":
                    table = gr.Dataframe(headers=["prompt", "response"], value=EXAMPLE_TURNS, interactive=True,
                                         label="Turns (edit, add rows)")
                    button = gr.Button("Score", variant="primary")
                    summary = gr.Markdown()
                    bars = gr.BarPlot(x="turn", y="attention", label="Attention per turn")
                    shaded = gr.HTML()
                    button.click(tab.score_interview, [table], [summary, bars, shaded],
                                 api_name=f"score_interview{suffix}")
                else:
                    table = gr.Dataframe(headers=["timestamp", "text"], value=EXAMPLE_POSTS, interactive=True,
                                         label="Posts (ISO dates, e.g. 2024-02-11; leave empty when unknown)")
                    upload = gr.File(label="...or a users JSONL file (its first user)", file_types=[".jsonl"])
                    button = gr.Button("Explain", variant="primary")
                    summary = gr.Markdown()
                    details = gr.HTML()
                    button.click(tab.explain_user, [table, upload], [summary, details],
                                 api_name=f"explain_user{suffix}")
    return demo


def launch(models: list[str], host: str = "127.0.0.1", port: int | None = None, device: Any = None,
           revision: str | None = None, block: bool = True):
    """Build the app and serve it on `host` (127.0.0.1: this machine only). Returns the app (and, with
    block=False, keeps serving in the background: `app.close()` stops it)."""
    demo = build_demo(models, device, revision)
    demo.launch(server_name=host, server_port=port, share=False, prevent_thread_lock=not block,
                show_error=True, quiet=not block)
    return demo
