"""A small OpenAI-compatible chat-completions server for tests (standard library only).

`ChatServer(responder)` answers POST /v1/chat/completions with `responder(prompt, attempt) -> str | int`: a string
becomes the completion, an int an HTTP error status. It records every prompt it was sent. Usable as a context
manager (tests) or run as a script: `python tests/chat_server.py PORT_FILE [--delay S]` answers "(A, I)" to
annotation prompts and writes its port to PORT_FILE.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def paper_style_answer(prompt: str, attempt: int) -> str:
    if prompt.startswith("Assuming you are a psychiatrist specializing in depression. Given"):
        return "(A, I)" if "sad" in prompt.lower() else "None"
    if "summarize the mood course" in prompt:
        return "Low mood that deepens over the period."
    return "The user shows depressed mood and thoughts of suicide."


class ChatServer:
    def __init__(self, responder=paper_style_answer, delay: float = 0.0):
        self.responder, self.delay = responder, delay
        self.prompts: list[str] = []
        self.attempts: Counter = Counter()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = body["messages"][-1]["content"]
                with server.lock:
                    server.prompts.append(prompt)
                    server.attempts[prompt] += 1
                    attempt = server.attempts[prompt]
                if server.delay:
                    time.sleep(server.delay)
                answer = server.responder(prompt, attempt)
                if isinstance(answer, int):
                    self.send_response(answer)
                    self.end_headers()
                    return
                payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": answer}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def annotation_prompts(self) -> list[str]:
        return [p for p in self.prompts if " Given '" in p]

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


if __name__ == "__main__":
    server = ChatServer(delay=float(sys.argv[3]) if len(sys.argv) > 3 else 0.0)
    with open(sys.argv[1], "w") as handle:
        handle.write(server.url)
    server.httpd.serve_forever()
