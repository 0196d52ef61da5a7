"""The OpenAI-compatible chat-completions client DORIS's `OpenAIAnnotator` talks through: one POST per prompt with
a total deadline (a watchdog closes a socket that drips bytes), the environment's proxies, and retries with
jittered exponential back-off or the server's Retry-After. The API key is read from the environment when a request
is sent, never stored or logged.

Standard library only.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import logging
import os
import random
import socket
import threading
import time
import urllib.parse
import urllib.request

logger = logging.getLogger(__name__)


class ReplyProblem(Exception):
    """A reply that may be better on a retry: a transport fault, a truncated body, a page that is not JSON
    (`unreadable`: the server answered, but not with a chat completion)."""

    def __init__(self, what: str, unreadable: bool = False):
        super().__init__(what)
        self.unreadable = unreadable


class ChatClient:
    """POSTs to `{base_url}/chat/completions` (see `OpenAIAnnotator` for what each setting means)."""

    def __init__(self, base_url: str, model: str, api_key_env: str, timeout: float, max_retries: int = 4,
                 backoff: float = 1.0, temperature: float = 0.0, max_retry_after: float = 60.0):
        self.base_url, self.model, self.api_key_env = base_url.rstrip("/"), model, api_key_env
        self.timeout, self.max_retries, self.backoff = timeout, max_retries, backoff
        self.temperature, self.max_retry_after = temperature, max_retry_after

    def _connection(self, url: urllib.parse.SplitResult, timeout: float):
        """An HTTP(S) connection to the server, through the environment's proxy when one applies."""
        https = url.scheme == "https"
        port = url.port or (443 if https else 80)
        proxy = urllib.request.getproxies().get(url.scheme)
        if proxy and not urllib.request.proxy_bypass(url.hostname):
            p = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
            conn = http.client.HTTPConnection(p.hostname, p.port or 80, timeout=timeout)
            if https:
                conn = http.client.HTTPSConnection(p.hostname, p.port or 443, timeout=timeout)
                conn.set_tunnel(url.hostname, port)
                return conn, url.path
            return conn, urllib.parse.urlunsplit(url)  # a plain-HTTP proxy takes the absolute URL
        cls = http.client.HTTPSConnection if https else http.client.HTTPConnection
        return cls(url.hostname, port, timeout=timeout), url.path

    def _exchange(self, url: str, body: bytes, headers: dict) -> tuple[int, dict, bytes]:
        """One POST within the total deadline: (status, headers, body). A watchdog closes the socket when the
        deadline passes, so a server that drips its answer one byte at a time cannot hold a worker longer."""
        deadline = time.monotonic() + self.timeout
        conn, target = self._connection(urllib.parse.urlsplit(url), self.timeout)
        expired = threading.Event()

        def cut():
            expired.set()
            sock = conn.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        watchdog = threading.Timer(self.timeout, cut)
        watchdog.daemon = True
        watchdog.start()
        try:
            conn.request("POST", target, body=body, headers=headers)
            response = conn.getresponse()
            chunks = []
            while True:
                if time.monotonic() > deadline:
                    raise TimeoutError
                chunk = response.read1(65536)
                if not chunk:
                    break
                chunks.append(chunk)
            data = b"".join(chunks)
            if response.length:  # bytes the Content-Length promised that never came (the socket closed early)
                raise http.client.IncompleteRead(data, response.length)
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        except (OSError, http.client.HTTPException, TimeoutError) as err:
            if expired.is_set() or time.monotonic() > deadline:
                raise ReplyProblem(f"no complete answer within the {self.timeout:g} s deadline") from err
            raise ReplyProblem(type(err).__name__) from err
        finally:
            watchdog.cancel()
            conn.close()

    def _retry_delay(self, attempt: int, headers: dict | None) -> float:
        """Seconds before the next attempt: the server's Retry-After (capped), else jittered exponential back-off."""
        value = (headers or {}).get("retry-after")
        if value:
            try:
                seconds = float(value)
            except ValueError:
                try:
                    seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
                except (TypeError, ValueError):
                    seconds = None
            if seconds is not None and seconds == seconds:
                return min(max(0.0, seconds), self.max_retry_after)
        return self.backoff * 2**attempt * (0.5 + random.random())

    def complete(self, prompt: str, max_tokens: int) -> str | None:
        """The completion's text; None when every attempt gave a reply that is not a chat completion."""
        body = json.dumps({
            "model": self.model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": self.temperature,
            "max_tokens": max_tokens,
        }).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        url = f"{self.base_url}/chat/completions"
        unreadable = False
        for attempt in range(self.max_retries + 1):
            reply_headers = None
            try:
                status, reply_headers, data = self._exchange(url, body, headers)
                if status == 200:
                    try:
                        content = json.loads(data.decode("utf-8"))["choices"][0]["message"]["content"]
                    except (ValueError, KeyError, IndexError, TypeError) as err:
                        raise ReplyProblem("a reply that is not a chat completion", unreadable=True) from err
                    if isinstance(content, str):
                        return content
                    raise ReplyProblem("a chat completion without text content", unreadable=True)
                if status not in (408, 409, 429) and status < 500:
                    raise RuntimeError(
                        f"The chat server at {url} refused the request with HTTP {status}; check the model name "
                        f"({self.model!r}) and the key in ${self.api_key_env}."
                    )
                problem, unreadable = f"HTTP {status}", False
            except ReplyProblem as err:
                problem, unreadable = str(err), err.unreadable
            if attempt < self.max_retries:
                delay = self._retry_delay(attempt, reply_headers)
                logger.warning("Chat request failed (%s); retry %d of %d in %.1fs.", problem, attempt + 1,
                               self.max_retries, delay)
                time.sleep(delay)
        if unreadable:
            logger.warning("The chat server's reply was still unreadable after %d attempts (%s); counted, not cached.",
                           self.max_retries + 1, problem)
            return None
        raise RuntimeError(
            f"The chat server at {url} did not answer after {self.max_retries + 1} attempts ({problem}). Finished "
            "annotations are cached; rerun the same command to resume."
        )
