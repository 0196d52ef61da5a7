"""How the Hybrid's predictions are shown: its section of the HTML report and its tab of the Gradio demo.

Standard library only (Gradio is passed in): a Space of a Hybrid model carries this file without the rest of
depdetect.
"""

from __future__ import annotations

from functools import partial

from ..report_html import esc, number, shade

EXAMPLE_TEXTS = ["I can't sleep, I feel empty and nothing I do matters anymore.",
                 "We went hiking on Sunday and the weather was lovely."]


def _words(tokens: list[dict], key: str) -> str:
    top = max([float(t.get(key) or 0.0) for t in tokens] + [0.0])
    spans = [f'<span style="{shade(float(t.get(key) or 0.0), top)}" title="{esc(key.upper())} '
             f'{number(float(t.get(key) or 0.0))}">{esc(t.get("token"))}</span>' for t in tokens]
    return '<p class="words">' + " ".join(spans) + "</p>"


def html_section(row: dict, record: dict | None = None) -> str:
    tokens = row.get("tokens")
    if not tokens:
        return '<p class="muted">No explanation (predicted with --no_explain).</p>'
    note = ' <span class="muted">(the text was cut to the model\'s maximum length)</span>' if row.get(
        "truncated") else ""
    return (f'<p class="muted">Words shaded by NAS (normalised attention score: the share of the decision each word '
            f'carries){note}</p>' + _words(tokens, "nas")
            + "<details><summary>AWVTI view (attention-weighted value token importance)</summary>"
            + _words(tokens, "awvti") + "</details>")


def explain_text(tab, text: str, view: str = "NAS"):
    """The demo's answer: label, P(depression) and the words with their NAS (or AWVTI) share of the top word."""
    _, out = tab.run(text, "the text")
    key = "awvti" if view == "AWVTI" else "nas"
    top = max([abs(float(t[key])) for t in out["tokens"]] + [1e-12])
    highlighted = [(t["token"], round(float(t[key]) / top, 4)) for t in out["tokens"]]
    return out["label"], f"{float(out['probability']):.4f}", highlighted


def demo_tab(gr, tab, suffix: str = "") -> None:
    """The demo's tab body: a text -> label, P(depression) and the words highlighted by NAS (or AWVTI)."""
    text = gr.Textbox(label="Text", lines=4, elem_id=f"hybrid-text{suffix}")
    view = gr.Radio(["NAS", "AWVTI"], value="NAS", label="Word importance")
    button = gr.Button("Explain", variant="primary", elem_id=f"hybrid-submit{suffix}")
    label = gr.Textbox(label="Label", elem_id=f"hybrid-label{suffix}")
    probability = gr.Textbox(label="P(depression)", elem_id=f"hybrid-probability{suffix}")  # empty before input
    words = gr.HighlightedText(label="Words (darker: more important)", elem_id=f"hybrid-words{suffix}")
    gr.Examples([[t, "NAS"] for t in EXAMPLE_TEXTS], [text, view])
    button.click(partial(explain_text, tab), [text, view], [label, probability, words],
                 api_name=f"explain_text{suffix}")


def pipeline_record(record) -> dict:
    """A demo input as the published pipeline's check expects it (the pipeline checks the text itself)."""
    return {"text": record}


def pipeline_predict(pipeline, records: list[dict], explain: bool = True) -> list[dict]:
    """The published pipeline, one call per record (its message then speaks of "the input", not "inputs[0]")."""
    return [pipeline(r["text"], explain=explain) for r in records]
