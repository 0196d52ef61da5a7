"""`depdetect demo MODEL [MODEL ...]`: a Gradio app (Blocks) on 127.0.0.1 with one tab per trained model.

Each tab is drawn by its system's `views.demo_tab` (named by the system's spec in the registry):

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

import logging
import os
import traceback
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # read by gradio at import: no telemetry

from . import systems  # noqa: E402
from .report_html import NOTICE  # noqa: E402

logger = logging.getLogger(__name__)
#: addresses the demo serves on and checks itself at: never sent through an HTTP(S)_PROXY
LOCAL_ADDRESSES = ("127.0.0.1", "localhost", "::1")

PRIVACY = ("Nothing you type is logged or stored by this app: Gradio's analytics are off and inputs are not "
           "flagged or cached.")


def gradio():
    try:
        import gradio as gr
    except ImportError as err:
        raise ValueError("The demo needs Gradio: pip install -e '.[demo]' in a clone of depdetect (pip install "
                         "'depdetect[demo]' where it is installed from an index), or pip install gradio.") from err
    return gr


def table_rows(table) -> list[list[Any]]:
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
    """A remote-code model (Hybrid, dual encoder) loaded through transformers with the model's own code, as a Hub
    Space does: the same check_record / predict as a system's predictor, with nothing of depdetect installed but
    the demo's files. The pipeline checks its input itself (empty text, an interview with no turns) and says what
    is wrong."""

    def __init__(self, model: str, device: Any = None, revision: str | None = None):
        from transformers import pipeline

        self.predictor = pipeline(model=model, revision=revision, trust_remote_code=True, device=device)
        tasks = {spec.pipeline_task: spec for spec in systems.specs() if spec.pipeline_task}
        if self.predictor.task not in tasks:
            raise ValueError(f"{model!r} is not a depdetect remote-code model (its pipeline task is "
                             f"{self.predictor.task!r}; depdetect's are {sorted(tasks)}).")
        self.spec = tasks[self.predictor.task]
        self.views = self.spec.load("views")

    def check_record(self, record: Any, where: str, labelled: bool) -> dict:
        return self.views.pipeline_record(record)

    def predict(self, predictor, records: list[dict], explain: bool = True) -> list[dict]:
        return self.views.pipeline_predict(predictor, records, explain)


class Tab:
    """One model of the demo: the system's spec, its predictor module (check_record, predict) and the loaded
    model; with `remote_code`, a remote-code model's published pipeline loaded through transformers instead (see
    RemoteCode)."""

    def __init__(self, model: str, device: Any = None, revision: str | None = None, remote_code: bool = False):
        self.model = model
        if remote_code:
            self.system = RemoteCode(model, device, revision)
            self.spec, self.predictor = self.system.spec, self.system.predictor
            return
        from .inference import load_system

        self.spec, self.folder, self.system = load_system(model, revision)
        self.predictor = self.system.load_predictor(self.folder, device)

    @property
    def kind(self) -> str:
        return self.spec.name

    def run(self, record: Any, where: str, explain: bool | str = True) -> tuple[dict, dict]:
        """(checked record, explained prediction). Bad input: a gr.Error with the pipeline's message, shown in the
        page only (never printed to the server's terminal or log: it may quote what was typed). Any other failure:
        a general message in the page, and only the error's type and place in the log (its message may quote the
        input too)."""
        gr = gradio()
        try:
            checked = self.system.check_record(record, where, False)
            return checked, self.system.predict(self.predictor, [checked], explain=explain)[0]
        except ValueError as err:
            raise gr.Error(str(err), print_exception=False) from None
        except Exception as err:  # noqa: BLE001 (the page says something went wrong; the log gets no input text)
            frames = traceback.extract_tb(err.__traceback__)[-1:]
            place = f"{frames[0].filename}:{frames[0].lineno}" if frames else "?"
            logger.error("The %s model failed on an input: %s at %s (input and message not logged).", self.kind,
                         type(err).__name__, place)
            raise gr.Error(f"The model failed on this input ({type(err).__name__}); nothing about it was logged.",
                           print_exception=False) from None


def build_demo(models: list[str], device: Any = None, revision: str | None = None, remote_code: bool = False):
    """The Gradio Blocks app with one tab per model (a trained folder or Hub repo id), each drawn by its system's
    `views.demo_tab`. `remote_code` loads torch models through transformers with their own code (what a Space
    written by `depdetect push --space` does)."""
    gr = gradio()
    if not models:
        raise ValueError("Pass at least one trained model folder or Hub repo id.")
    tabs = [Tab(model, device, revision, remote_code) for model in models]
    counts: dict[str, int] = {}
    with gr.Blocks(title="depdetect demo", analytics_enabled=False) as demo:
        gr.Markdown("# depdetect: explainable depression detection (research demo)")
        for tab in tabs:
            counts[tab.kind] = counts.get(tab.kind, 0) + 1
            suffix = "" if counts[tab.kind] == 1 else f"_{counts[tab.kind]}"
            with gr.Tab(f"{tab.spec.demo_title}: {Path(str(tab.model)).name}"):
                gr.Markdown(f"**Notice.** {NOTICE} {PRIVACY}", elem_classes=["depdetect-notice"])
                tab.spec.load("views").demo_tab(gr, tab, suffix)
    return demo


def launch(models: list[str], host: str = "127.0.0.1", port: int | None = None, device: Any = None,
           revision: str | None = None, block: bool = True):
    """Build the app and serve it on `host` (127.0.0.1: this machine only). Returns the app (and, with
    block=False, keeps serving in the background: `app.close()` stops it)."""
    demo = build_demo(models, device, revision)
    bypass_proxy_for_local_addresses(host)
    demo.launch(server_name=host, server_port=port, share=False, prevent_thread_lock=True, show_error=True,
                quiet=True)  # quiet: no "set share=True" advice (sharing is off on purpose); the URL is said below
    if block:
        print(f"depdetect demo on {demo.local_url} ({'this machine only' if host == '127.0.0.1' else host}); "
              "Ctrl+C stops it.", flush=True)
        demo.block_thread()
    return demo


def bypass_proxy_for_local_addresses(host: str) -> None:
    """Add the local addresses (and `host`) to NO_PROXY, so Gradio's start-up check of its own URL, and the browser
    libraries of this process, reach the app directly behind an HTTP(S)_PROXY."""
    for name in ("NO_PROXY", "no_proxy"):
        present = [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]
        wanted = [a for a in (*LOCAL_ADDRESSES, host) if a and a not in present and a != "0.0.0.0"]
        os.environ[name] = ",".join(present + wanted)
