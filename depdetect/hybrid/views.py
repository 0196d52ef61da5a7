"""How the Hybrid's predictions are shown: its section of the HTML report and its tab of the Gradio demo.

Standard library only (Gradio is passed in): a Space of a Hybrid model carries this file without the rest of
depdetect.
"""

from __future__ import annotations

from functools import partial

from ..report_html import esc, number, shade

EXAMPLE_TEXTS = ["I can't sleep, I feel empty and nothing I do matters anymore.",
                 "We went hiking on Sunday and the weather was lovely."]


#: the Hybrid's explanation methods as the report and the demo name them: (name, what it measures)
METHOD_NAMES = {
    "nas": ("NAS", "normalised attention score: the share of the [CLS] attention each word receives"),
    "awvti": ("AWVTI", "attention-weighted value token importance: the [CLS] attention summed over layers and heads"),
    "integrated_gradients": ("Integrated Gradients", "how much each word moves the label's probability (gradients "
                                                     "along 20 steps from a [PAD] baseline)"),
    "occlusion": ("Occlusion", "the label's probability minus the same with the word deleted"),
}


def _words(tokens: list[dict], key: str) -> str:
    top = max([float(t.get(key) or 0.0) for t in tokens] + [0.0])
    spans = [f'<span style="{shade(float(t.get(key) or 0.0), top)}" title="{esc(METHOD_NAMES[key][0])} '
             f'{number(float(t.get(key) or 0.0))}">{esc(t.get("token"))}</span>' for t in tokens]
    return '<p class="words">' + " ".join(spans) + "</p>"


def html_section(row: dict, record: dict | None = None) -> str:
    tokens = row.get("tokens")
    if not tokens:
        return '<p class="muted">No explanation (predicted with --no_explain).</p>'
    note = ' <span class="muted">(the text was cut to the model\'s maximum length)</span>' if row.get(
        "truncated") else ""
    out = []
    if "nas" in tokens[0]:
        out.append(f'<p class="muted">Words shaded by NAS ({METHOD_NAMES["nas"][1]}){note}</p>' + _words(tokens, "nas")
                   + "<details><summary>AWVTI view (attention-weighted value token importance)</summary>"
                   + _words(tokens, "awvti") + "</details>")
    for key in ("integrated_gradients", "occlusion"):  # a method beside the paper's (predict --explain)
        if key in tokens[0]:
            name, meaning = METHOD_NAMES[key]
            out.append(f'<p class="muted">Words shaded by {name} ({meaning}; only words that raise it are shaded)'
                       f'{"" if out else note}</p>' + _words(tokens, key))
    return "".join(out)


def explain_text(tab, text: str, view: str = "NAS"):
    """The demo's answer: label, P(depression) and the words with their score under the chosen method, as a share
    of the largest (negative: the word lowers the label's probability)."""
    key = next((k for k, (name, _) in METHOD_NAMES.items() if name == view), "nas")
    _, out = tab.run(text, "the text", explain=key)
    top = max([abs(float(t[key])) for t in out["tokens"]] + [1e-12])
    highlighted = [(t["token"], round(float(t[key]) / top, 4)) for t in out["tokens"]]
    return out["label"], f"{float(out['probability']):.4f}", highlighted


def demo_tab(gr, tab, suffix: str = "") -> None:
    """The demo's tab body: a text -> label, P(depression) and the words highlighted by the chosen method."""
    text = gr.Textbox(label="Text", lines=4, elem_id=f"hybrid-text{suffix}")
    view = gr.Radio([name for name, _ in METHOD_NAMES.values()], value="NAS",
                    label="Word importance (NAS and AWVTI: the paper's attention; Integrated Gradients and Occlusion: "
                          "what moves the prediction)")
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


def pipeline_predict(pipeline, records: list[dict], explain: bool | str = True) -> list[dict]:
    """The published pipeline, one call per record (its message then speaks of "the input", not "inputs[0]")."""
    return [pipeline(r["text"], explain=explain) for r in records]
