"""The two files a saved DORIS folder carries for Inference Endpoints: `handler.py` (it imports
depdetect.doris.handler.EndpointHandler) and the `requirements.txt` that installs depdetect[doris] for it."""

from __future__ import annotations

from .. import __version__

HANDLER_FILE = "handler.py"
REQUIREMENTS_FILE = "requirements.txt"
HANDLER_SOURCE = (
    '"""Inference Endpoints handler of a DORIS pipeline saved by depdetect; needs `pip install depdetect[doris]` '
    '(requirements.txt)."""\n\nfrom depdetect.doris.handler import EndpointHandler  # noqa: F401\n'
)


def handler_files() -> dict[str, bytes]:
    """{name: bytes} of the handler and requirements files a saved DORIS folder carries."""
    return {HANDLER_FILE: HANDLER_SOURCE.encode(),
            REQUIREMENTS_FILE: f"depdetect[doris]>={__version__}\n".encode()}
