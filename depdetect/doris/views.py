"""How DORIS's predictions are shown: its section of the HTML report (symptoms with evidence posts, the mood course
with an inline SVG timeline, the written explanation) and its tab of the Gradio demo.

Standard library only (Gradio is passed in).
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import partial

from ..report_html import esc

#: colours of the five emotions of DORIS's templates (Appendix C) in the timeline; others get grey
EMOTION_COLOURS = {"sadness": "#1f77b4", "anger": "#d62728", "fear": "#9467bd", "disgust": "#8c564b",
                   "happiness": "#2ca02c"}
EXAMPLE_POSTS = [["2024-01-03", "Started a new job today, nervous but excited."],
                 ["2024-02-11", "I haven't slept properly in weeks and I feel worthless."],
                 ["2024-02-20", "Nothing feels worth doing anymore, I just stay in bed."]]


def _posts(count: int) -> str:
    return f"{count} post{'' if count == 1 else 's'}"


def _moment(value) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(value).strip())
    except (TypeError, ValueError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def mood_timeline(posts: list[dict], width: int = 640) -> str:
    """An inline SVG: one dot per mood-course post, by date (by order when any post is undated), in the lane of
    its dominant emotion."""
    if not posts:
        return '<p class="muted">No emotionally charged posts: no mood-course timeline.</p>'
    emotions = list(dict.fromkeys([*EMOTION_COLOURS, *(str(p.get("emotion")) for p in posts)]))
    times = [_moment(p.get("timestamp")) for p in posts]
    dated = all(t is not None for t in times)
    xs = [t.timestamp() for t in times] if dated else list(range(len(posts)))
    low, high = min(xs), max(xs)
    left, right, lane = 90, 20, 22
    height = lane * len(emotions) + 34

    def x(value):
        return left + (0.5 if high == low else (value - low) / (high - low)) * (width - left - right)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="mood-course timeline">']
    for i, emotion in enumerate(emotions):
        y = 14 + i * lane
        parts.append(f'<text x="4" y="{y + 4}" font-size="11" fill="#444">{esc(emotion)}</text>'
                     f'<line x1="{left}" x2="{width - right}" y1="{y}" y2="{y}" stroke="#eee"/>')
    for post, value, moment in zip(posts, xs, times):
        emotion = str(post.get("emotion"))
        y = 14 + emotions.index(emotion) * lane
        when = moment.date().isoformat() if moment else "time unknown"
        parts.append(f'<circle cx="{x(value):.1f}" cy="{y}" r="5" fill="{EMOTION_COLOURS.get(emotion, "#777")}" '
                     f'fill-opacity="0.8"><title>{esc(when)}: {esc(emotion)}</title></circle>')
    axis = (f"{min(times).date().isoformat()} to {max(times).date().isoformat()}" if dated
            else "posts in the order given (some are undated)")
    parts.append(f'<text x="{left}" y="{height - 6}" font-size="11" fill="#666">{esc(axis)}</text></svg>')
    return "".join(parts)


def html_section(row: dict, record: dict | None = None) -> str:
    out = []
    symptoms = row.get("symptoms")
    if symptoms is None:
        return '<p class="muted">No explanation (predicted with --no_explain).</p>'
    if symptoms:
        items = []
        for s in symptoms:
            posts = "".join(f"<blockquote>{esc((p.get('timestamp') or 'time unknown')[:10])}: {esc(p.get('text'))}"
                            + (f' <span class="muted">(similarity {float(p["similarity"]):.2f})</span>'
                               if p.get("similarity") is not None else "")
                            + "</blockquote>" for p in s.get("posts", []))
            items.append(f"<li><strong>{esc(s.get('name'))}</strong> ({_posts(len(s.get('posts', [])))}){posts}</li>")
        chosen = row.get("evidence_chosen_by")
        out.append("<h3>Symptoms found, with their evidence posts</h3>"
                   + (f'<p class="muted">{esc(chosen)}</p>' if chosen else "") + "<ul>" + "".join(items) + "</ul>")
    else:
        out.append('<p class="muted">No symptom was found in the annotated posts.</p>')
    out.append("<h3>Mood course</h3>" + mood_timeline(row.get("mood_posts") or [])
               + f"<p>{esc(row.get('mood_course'))}</p>")
    if row.get("explanation"):
        out.append(f"<h3>Explanation</h3><p>{esc(row['explanation'])}</p>")
    if row.get("posts") and record:  # predict --explain occlusion: the posts whose removal moves P(label) most
        given = record.get("posts") or []
        top = sorted(row["posts"], key=lambda p: -abs(float(p["occlusion"])))[:5]
        cells = "".join(f"<tr><td>{esc(p['index'])}</td><td>{esc(given[p['index']].get('text'))}</td>"
                        f"<td>{float(p['occlusion']):+.3f}</td></tr>" for p in top if p["index"] < len(given))
        out.append("<h3>Posts the decision depends on most (occlusion)</h3><p class=\"muted\">P(label) minus P(label) "
                   "without the post.</p><table><tr><th>#</th><th>post</th><th>change</th></tr>" + cells + "</table>")
    return "".join(out)


def explain_user(tab, table, upload=None):
    """The demo's answer for a table of dated posts (or an uploaded users JSONL file: its first user)."""
    from ..demo import gradio, table_rows

    if upload is not None:
        from ..data import read_records

        try:
            rows = read_records(getattr(upload, "name", upload))
        except (ValueError, OSError) as err:
            raise gradio().Error(str(err)) from None
        if not rows:
            raise gradio().Error("The uploaded file holds no users.")
        record = rows[0][1]
    else:
        record = {"user_id": "demo-user", "posts": [
            {"timestamp": str(row[0]).strip() or None, "text": str(row[1])} for row in table_rows(table)]}
    _, out = tab.run(record, "the user")
    summary = f"**{out['label']}**, P(depression) = {out['probability']:.3f}"
    return summary, html_section(out)


def demo_tab(gr, tab, suffix: str = "") -> None:
    """The demo's tab body: dated posts (or a users file) -> P(depression), symptoms, mood course, explanation."""
    table = gr.Dataframe(headers=["timestamp", "text"], value=EXAMPLE_POSTS, interactive=True,
                         label="Posts (ISO dates, e.g. 2024-02-11; leave empty when unknown)")
    upload = gr.File(label="...or a users JSONL file (its first user)", file_types=[".jsonl"])
    button = gr.Button("Explain", variant="primary")
    summary = gr.Markdown()
    details = gr.HTML()
    button.click(partial(explain_user, tab), [table, upload], [summary, details],
                 api_name=f"explain_user{suffix}")
