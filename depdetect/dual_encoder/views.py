"""How the dual encoder's predictions are shown: its section of the HTML report and its tab of the Gradio demo.

Standard library only (Gradio and pandas are imported by the demo's callback): a Space of a dual-encoder model
carries this file without the rest of depdetect.
"""

from __future__ import annotations

from functools import partial

from ..report_html import esc, number, shade

EXAMPLE_TURNS = [["How have you been sleeping lately?", "Badly. I wake up at four and can't get back to sleep."],
                 ["What do you do for fun?", "Not much anymore. I used to paint but I stopped."],
                 ["How is work?", "Fine, busy as usual."]]


def html_section(row: dict, record: dict | None = None) -> str:
    turns = row.get("turns") or []
    given = (record or {}).get("turns") or []
    if given:  # predict's rows do not copy the interview's text: take it from the input record
        turns = [{**given[t["index"]], **t} if 0 <= t.get("index", -1) < len(given) else t for t in turns]
    if not turns:
        return '<p class="muted">No turns.</p>'
    top = max(float(t.get("attention") or 0.0) for t in turns)
    occluded = "occlusion" in turns[0]
    rows = []
    for t in turns:
        weight = float(t.get("attention") or 0.0)
        width = 0.0 if top <= 0 else 100.0 * weight / top
        extra = f"<td>{number(float(t['occlusion']))}</td>" if occluded else ""
        rows.append(f'<tr style="{shade(weight, top * 2.5)}"><td>{esc(t.get("index"))}</td><td>{esc(t.get("prompt"))}'
                    f'</td><td>{esc(t.get("response"))}</td><td>{number(weight)}<div class="bar" '
                    f'style="width:{width:.1f}%"></div></td>{extra}</tr>')
    note = (" Occlusion: the score minus the score without that turn (what the prediction depends on)."
            if occluded else "")
    return (f'<p class="muted">Turns shaded by the attention the model gave them (it sums to 1 over the turns).{note}'
            "</p><table><tr><th>#</th><th>prompt</th><th>response</th><th>attention</th>"
            + ("<th>occlusion</th>" if occluded else "") + "</tr>" + "".join(rows) + "</table>")


def score_interview(tab, table):
    """The demo's answer: the score (with its interval) or P(depression), attention bars and the shaded turns."""
    import pandas as pd

    from ..demo import table_rows

    turns = [{"prompt": str(row[0]), "response": str(row[1])} for row in table_rows(table)]
    record, out = tab.run({"turns": turns}, "the interview")
    if "severity" in out:
        summary = f"**Severity {out['severity']:.2f}**"
        if out.get("interval"):
            low, high = out["interval"]
            summary += f" (interval {low:.2f} to {high:.2f}, from the model's conformal calibration)"
    else:
        summary = f"**{out['label']}**, P(depression) = {out['probability']:.3f}"
    bars = pd.DataFrame({"turn": [f"turn {t['index']}" for t in out["turns"]],
                         "attention": [float(t["attention"]) for t in out["turns"]]})
    return summary, bars, html_section(out, record)


def demo_tab(gr, tab, suffix: str = "") -> None:
    """The demo's tab body: an editable table of prompt / response turns -> score, attention bars, shaded turns."""
    table = gr.Dataframe(headers=["prompt", "response"], value=EXAMPLE_TURNS, interactive=True,
                         label="Turns (edit, add rows)")
    button = gr.Button("Score", variant="primary")
    summary = gr.Markdown()
    bars = gr.BarPlot(x="turn", y="attention", label="Attention per turn")
    shaded = gr.HTML()
    button.click(partial(score_interview, tab), [table], [summary, bars, shaded],
                 api_name=f"score_interview{suffix}")


def pipeline_record(record) -> dict:
    """A demo input as the published pipeline expects it (the pipeline checks the interview itself)."""
    return record


def pipeline_predict(pipeline, records: list[dict], explain: bool | str = True) -> list[dict]:
    """The published pipeline, one call per interview (its message then speaks of "the interview")."""
    if isinstance(explain, str):
        return [pipeline({"turns": r["turns"]}, explain=explain) for r in records]
    return [pipeline({"turns": r["turns"]}) for r in records]
