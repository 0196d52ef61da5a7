"""A small Hub-compatible HTTP server for tests (standard library only), so that the real huggingface_hub,
transformers and datasets clients can push to it and load from it.

It implements what those clients call: create_repo (`/api/repos/create`), branches, repo info
(`/api/{models,datasets}/ID[/revision/REV]`), refs, commits list, tree listing and paths-info, preupload, the
commit endpoint (NDJSON: header, file, lfsFile, deletedFile), the LFS batch API with basic upload and verify,
`resolve` downloads (HEAD and GET) with ETag, X-Repo-Commit and X-Linked-Etag/-Size, whoami, and YAML metadata
validation (`/api/validate-yaml`). State lives in memory. Failures can be injected: `refuse_commits` (n commits
answered 403; with `refuse_only` = a repo type, only commits to repos of that type) and `drop_commits` /
`drop_uploads` (n requests whose connection is closed mid-body). A Space is created only with an sdk.

Clients need, before they are imported: HF_ENDPOINT=server.url, HF_TOKEN=anything, HF_HUB_DISABLE_XET=1.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

LFS_EXTENSIONS = (".safetensors", ".parquet", ".bin", ".ubj", ".arrow")
KNOWN_LICENSES = {"apache-2.0", "mit", "cc-by-4.0", "cc-by-nc-4.0", "cc-by-sa-4.0", "other", "unknown", "bsd-3-clause"}


def git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Repo:
    def __init__(self, repo_type: str, repo_id: str, private: bool, sdk: str | None = None):
        self.repo_type, self.repo_id, self.private, self.sdk = repo_type, repo_id, private, sdk
        self.commits: dict[str, dict] = {}
        root = self._new_commit({}, "initial commit", None)
        self.branches = {"main": root}

    def _new_commit(self, files: dict, message: str, parent: str | None) -> str:
        digest = hashlib.sha1(json.dumps([sorted((p, f["oid"]) for p, f in files.items()), message, parent,
                                          time.time_ns()]).encode()).hexdigest()
        self.commits[digest] = {"files": files, "message": message, "parent": parent, "date": time.time()}
        return digest

    def resolve(self, revision: str) -> str | None:
        revision = unquote(revision)
        if revision in self.branches:
            return self.branches[revision]
        if revision in self.commits:
            return revision
        return None


class HubServer:
    def __init__(self):
        self.repos: dict[tuple[str, str], Repo] = {}
        self.lfs: dict[str, bytes] = {}
        self.lock = threading.RLock()
        self.refuse_commits = 0
        self.refuse_only = None  # a repo type ("space"): refuse only commits to repos of that type
        self.drop_commits = 0
        self.drop_uploads = 0
        self.requests: list[tuple[str, str]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                hub.dispatch(self, "GET")

            def do_HEAD(self):
                hub.dispatch(self, "HEAD")

            def do_POST(self):
                hub.dispatch(self, "POST")

            def do_PUT(self):
                hub.dispatch(self, "PUT")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    # -- plumbing -------------------------------------------------------------------------------------------------

    def __enter__(self):
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()

    def client_env(self, home: str) -> dict:
        return {"HF_ENDPOINT": self.url, "HF_TOKEN": "hf_test_token", "HF_HUB_DISABLE_XET": "1", "HF_HOME": home,
                "HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_ETAG_TIMEOUT": "30",
                "HF_HUB_DOWNLOAD_TIMEOUT": "30"}

    @staticmethod
    def send(handler, status: int, body=None, headers: dict | None = None, method: str = "GET") -> None:
        if isinstance(body, (dict, list)):
            payload, kind = json.dumps(body).encode(), "application/json"
        elif isinstance(body, bytes):
            payload, kind = body, "application/octet-stream"
        else:
            payload, kind = (body or "").encode(), "text/plain"
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        if method != "HEAD":
            handler.wfile.write(payload)

    def error(self, handler, status: int, message: str, code: str | None = None, method: str = "GET") -> None:
        headers = {"X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        self.send(handler, status, {"error": message}, headers, method)

    @staticmethod
    def body(handler) -> bytes:
        length = int(handler.headers.get("Content-Length") or 0)
        return handler.rfile.read(length) if length else b""

    @staticmethod
    def drop(handler) -> None:
        """Read part of the body, then close the connection without an answer."""
        length = int(handler.headers.get("Content-Length") or 0)
        handler.rfile.read(min(length, 16))
        handler.close_connection = True
        handler.connection.shutdown(2)

    def repo(self, repo_type: str, repo_id: str) -> Repo | None:
        return self.repos.get((repo_type, repo_id))

    # -- routing --------------------------------------------------------------------------------------------------

    def dispatch(self, handler, method: str) -> None:
        parsed = urlparse(handler.path)
        path, query = parsed.path, parse_qs(parsed.query)
        with self.lock:
            self.requests.append((method, path))
        try:
            self.route(handler, method, path, query)
        except BrokenPipeError:
            pass
        except Exception as err:  # a bug in this test server: say so loudly
            self.error(handler, 500, f"test hub server error: {type(err).__name__}: {err}")

    def route(self, handler, method: str, path: str, query: dict) -> None:
        types = r"(?P<type>model|dataset|space)s"
        rid = r"(?P<id>[^/]+/[^/]+|[^/]+)"
        routes = [
            ("GET", r"/api/whoami-v2", self.whoami),
            ("POST", r"/api/repos/create", self.create_repo),
            ("POST", r"/api/validate-yaml", self.validate_yaml),
            ("POST", rf"/api/{types}/{rid}/preupload/(?P<rev>[^/]+)", self.preupload),
            ("POST", rf"/api/{types}/{rid}/commit/(?P<rev>[^/]+)", self.commit),
            ("POST", rf"/api/{types}/{rid}/branch/(?P<rev>[^/]+)", self.create_branch),
            ("GET", rf"/api/{types}/{rid}/refs", self.refs),
            ("GET", rf"/api/{types}/{rid}/commits/(?P<rev>[^/]+)", self.list_commits),
            ("GET", rf"/api/{types}/{rid}/tree/(?P<rev>[^/]+)(?P<sub>/.*)?", self.tree),
            ("POST", rf"/api/{types}/{rid}/paths-info/(?P<rev>[^/]+)", self.paths_info),
            ("GET", rf"/api/{types}/{rid}/revision/(?P<rev>[^/]+)", self.info),
            ("GET", rf"/api/{types}/{rid}", self.info),
            (
                "POST",
                r"/(?P<prefix>datasets/|spaces/)?(?P<id>[^/]+/[^/]+|[^/]+)\.git/info/lfs/objects/batch",
                self.lfs_batch,
            ),
            ("PUT", r"/lfs-upload/(?P<oid>[0-9a-f]{64})", self.lfs_upload),
            ("POST", r"/lfs-verify", self.lfs_verify),
            (
                "GET",
                r"/(?P<prefix>datasets/|spaces/)?(?P<id>[^/]+/[^/]+|[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)",
                self.resolve,
            ),
            (
                "HEAD",
                r"/(?P<prefix>datasets/|spaces/)?(?P<id>[^/]+/[^/]+|[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)",
                self.resolve,
            ),
        ]
        for verb, pattern, action in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                return action(handler, method, query=query, **match.groupdict())
        self.error(handler, 404, f"no route for {method} {path}", method=method)

    def _repo_or_404(self, handler, method, type_: str, id_: str) -> Repo | None:
        repo = self.repo(type_, unquote(id_))
        if repo is None:
            self.error(handler, 404, f"Repository {id_} not found", "RepoNotFound", method)
        return repo

    def _commit_or_404(self, handler, method, repo: Repo, rev: str) -> str | None:
        commit = repo.resolve(rev)
        if commit is None:
            self.error(handler, 404, f"Invalid rev id: {unquote(rev)}", "RevisionNotFound", method)
        return commit

    def _at(self, handler, method, type_: str, id_: str, rev: str) -> tuple[Repo | None, str | None]:
        """The repo and the commit a revision names, or (None, None) after answering 404."""
        repo = self._repo_or_404(handler, method, type_, id_)
        commit = self._commit_or_404(handler, method, repo, rev) if repo is not None else None
        return (repo, commit) if commit is not None else (None, None)

    # -- endpoints ------------------------------------------------------------------------------------------------

    def whoami(self, handler, method, query):
        self.send(handler, 200, {"type": "user", "name": "tester", "fullname": "Test User", "orgs": [],
                                 "auth": {"accessToken": {"role": "write"}}})

    def create_repo(self, handler, method, query):
        data = json.loads(self.body(handler) or b"{}")
        name, org = data.get("name"), data.get("organization")
        repo_type = data.get("type") or "model"
        repo_id = f"{org}/{name}" if org else f"tester/{name}"
        prefix = "" if repo_type == "model" else f"{repo_type}s/"
        with self.lock:
            if (repo_type, repo_id) in self.repos:
                return self.send(
                    handler, 409, {"error": "You already created this repo", "url": f"{self.url}/{prefix}{repo_id}"}
                )
            private = bool(data.get("private")) or data.get("visibility") == "private"
            if repo_type == "space" and data.get("sdk") not in ("gradio", "docker", "static"):
                return self.error(handler, 400, f"A Space needs an sdk (gradio, docker or static): {data.get('sdk')}")
            self.repos[(repo_type, repo_id)] = Repo(repo_type, repo_id, private, data.get("sdk"))
        self.send(handler, 200, {"url": f"{self.url}/{prefix}{repo_id}", "name": repo_id, "id": repo_id})

    def validate_yaml(self, handler, method, query):
        """The Hub's metadata check, reduced to what depdetect's cards must satisfy."""
        import yaml

        data = json.loads(self.body(handler) or b"{}")
        content = data.get("content", "")
        errors = []
        match = re.match(r"^---\n(.*?)\n---", content, re.S)
        if not match:
            errors.append("no YAML metadata block")
        else:
            try:
                meta = yaml.safe_load(match.group(1)) or {}
            except yaml.YAMLError as err:
                meta, errors = {}, [f"invalid YAML: {err}"]
            if "license" in meta and meta["license"] not in KNOWN_LICENSES:
                errors.append(f"unknown license {meta['license']!r}")
            for entry in meta.get("model-index", []) or []:
                if not entry.get("name"):
                    errors.append("model-index entry without a name")
                for result in entry.get("results", []):
                    if not result.get("task", {}).get("type"):
                        errors.append("result without task.type")
                    dataset = result.get("dataset", {})
                    if not dataset.get("name") or not dataset.get("type"):
                        errors.append("result without dataset.name/type")
                    for metric in result.get("metrics", []):
                        if not metric.get("type") or not isinstance(metric.get("value"), (int, float)):
                            errors.append(f"metric without type or numeric value: {metric}")
        if errors:
            return self.send(handler, 400, {"error": "; ".join(errors)})
        self.send(handler, 200, {"errors": [], "warnings": []})

    def info(self, handler, method, query, type, id, rev="main"):
        repo, commit = self._at(handler, method, type, id, rev)
        if repo is None:
            return
        files = repo.commits[commit]["files"]
        self.send(handler, 200, {
            "_id": repo.repo_id, "id": repo.repo_id, "modelId": repo.repo_id, "sha": commit, "private": repo.private,
            "disabled": False, "gated": False, "downloads": 0, "likes": 0, "tags": [],
            "lastModified": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(repo.commits[commit]["date"])),
            "createdAt": "2026-01-01T00:00:00.000Z",
            "siblings": [{"rfilename": p} for p in sorted(files)],
        }, method=method)

    def create_branch(self, handler, method, query, type, id, rev):
        repo = self._repo_or_404(handler, method, type, id)
        if repo is None:
            return
        data = json.loads(self.body(handler) or b"{}")
        branch = unquote(rev)
        with self.lock:
            if branch in repo.branches:
                return self.send(handler, 409, {"error": f"Reference already exists: refs/heads/{branch}"})
            start = repo.resolve(data.get("startingPoint") or "main")
            repo.branches[branch] = start
        self.send(handler, 200, {})

    def refs(self, handler, method, query, type, id):
        repo = self._repo_or_404(handler, method, type, id)
        if repo is None:
            return
        self.send(handler, 200, {"branches": [{"name": b, "ref": f"refs/heads/{b}", "targetCommit": c}
                                              for b, c in repo.branches.items()], "tags": [], "converts": []})

    def list_commits(self, handler, method, query, type, id, rev):
        repo, commit = self._at(handler, method, type, id, rev)
        if repo is None:
            return
        out = []
        while commit:
            c = repo.commits[commit]
            out.append({"id": commit, "title": c["message"], "message": c["message"], "authors": [{"user": "tester"}],
                        "date": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(c["date"]))})
            commit = c["parent"]
        self.send(handler, 200, out)

    def _entry(self, path: str, f: dict) -> dict:
        entry = {"type": "file", "oid": f["oid"], "size": f["size"], "path": path}
        if f["lfs"]:
            entry["lfs"] = {"oid": f["sha256"], "size": f["size"], "pointerSize": 134}
        return entry

    def _listing(self, files: dict, sub: str, recursive: bool) -> list[dict]:
        sub = sub.strip("/")
        prefix = f"{sub}/" if sub else ""
        out, folders = [], set()
        for path in sorted(files):
            if not path.startswith(prefix):
                continue
            rest = path[len(prefix):]
            parts = rest.split("/")
            for depth in range(1, len(parts)):
                folder = prefix + "/".join(parts[:depth])
                if (recursive or depth == 1) and folder not in folders:
                    folders.add(folder)
                    out.append({"type": "directory", "oid": hashlib.sha1(folder.encode()).hexdigest(), "size": 0,
                                "path": folder})
            if recursive or len(parts) == 1:
                out.append(self._entry(path, files[path]))
        return out

    def tree(self, handler, method, query, type, id, rev, sub=None):
        repo, commit = self._at(handler, method, type, id, rev)
        if repo is None:
            return
        files = repo.commits[commit]["files"]
        sub = unquote(sub or "")
        if sub.strip("/") and not any(p.startswith(sub.strip("/") + "/") for p in files):
            return self.error(handler, 404, f"{sub} not found", "EntryNotFound")
        self.send(
            handler, 200, self._listing(files, sub, query.get("recursive", ["false"])[0] in ("true", "1", "True"))
        )

    def paths_info(self, handler, method, query, type, id, rev):
        repo, commit = self._at(handler, method, type, id, rev)
        if repo is None:
            return
        raw = self.body(handler)
        if handler.headers.get("Content-Type", "").startswith("application/json"):
            paths = json.loads(raw).get("paths", [])
        else:
            paths = parse_qs(raw.decode()).get("paths", [])
        files = repo.commits[commit]["files"]
        out = []
        for path in paths:
            path = path.strip("/")
            if path in files:
                out.append(self._entry(path, files[path]))
            elif any(p.startswith(path + "/") for p in files):
                out.append(
                    {"type": "directory", "oid": hashlib.sha1(path.encode()).hexdigest(), "size": 0, "path": path}
                )
        self.send(handler, 200, out)

    def preupload(self, handler, method, query, type, id, rev):
        repo = self._repo_or_404(handler, method, type, id)
        if repo is None:
            return
        data = json.loads(self.body(handler))
        files = []
        for f in data["files"]:
            lfs = f["path"].endswith(LFS_EXTENSIONS) or f["size"] > 1_000_000
            files.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False})
        self.send(handler, 200, {"files": files, "commitOid": repo.resolve(rev)})

    def lfs_batch(self, handler, method, query, id, prefix=None):
        data = json.loads(self.body(handler))
        objects = []
        for obj in data.get("objects", []):
            entry = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            if obj["oid"] not in self.lfs:
                entry["actions"] = {"upload": {"href": f"{self.url}/lfs-upload/{obj['oid']}"},
                                    "verify": {"href": f"{self.url}/lfs-verify"}}
            objects.append(entry)
        self.send(handler, 200, {"transfer": "basic", "objects": objects})

    def lfs_upload(self, handler, method, query, oid):
        with self.lock:
            drop = self.drop_uploads > 0
            self.drop_uploads -= int(drop)
        if drop:
            return self.drop(handler)
        data = self.body(handler)
        if hashlib.sha256(data).hexdigest() != oid:
            return self.error(handler, 400, "sha256 mismatch")
        self.lfs[oid] = data
        self.send(handler, 200, {})

    def lfs_verify(self, handler, method, query):
        data = json.loads(self.body(handler))
        if data.get("oid") not in self.lfs:
            return self.error(handler, 404, "object not uploaded")
        self.send(handler, 200, {})

    def commit(self, handler, method, query, type, id, rev):
        repo = self._repo_or_404(handler, method, type, id)
        if repo is None:
            return
        with self.lock:
            refuse = self.refuse_commits > 0 and self.refuse_only in (None, repo.repo_type)
            drop = self.drop_commits > 0 and not refuse
            self.refuse_commits -= int(refuse)
            self.drop_commits -= int(drop)
        if drop:
            return self.drop(handler)
        lines = [json.loads(line) for line in self.body(handler).splitlines() if line.strip()]
        if refuse:
            return self.error(handler, 403, "You don't have the rights to commit to this repo (injected refusal)")
        branch = unquote(rev)
        with self.lock:
            if branch not in repo.branches:
                return self.error(handler, 404, f"Invalid rev id: {branch}", "RevisionNotFound")
            parent = repo.branches[branch]
            files = dict(repo.commits[parent]["files"])
            message = ""
            for line in lines:
                key, value = line["key"], line["value"]
                if key == "header":
                    message = value.get("summary", "")
                elif key == "file":
                    content = base64.b64decode(value["content"])
                    files[value["path"]] = {"oid": git_blob_sha(content), "size": len(content), "lfs": False,
                                            "data": content}
                elif key == "lfsFile":
                    if value["oid"] not in self.lfs:
                        return self.error(handler, 422, f"LFS object {value['oid']} was never uploaded")
                    data = self.lfs[value["oid"]]
                    files[value["path"]] = {"oid": git_blob_sha(data), "size": len(data), "lfs": True,
                                            "sha256": value["oid"], "data": data}
                elif key == "deletedFile":
                    files.pop(value["path"], None)
                elif key == "deletedFolder":
                    for path in [p for p in files if p.startswith(value["path"].rstrip("/") + "/")]:
                        files.pop(path)
            commit = repo._new_commit(files, message, parent)
            repo.branches[branch] = commit
        prefix = "" if type == "model" else f"{type}s/"
        self.send(handler, 200, {"success": True, "commitOid": commit,
                                 "commitUrl": f"{self.url}/{prefix}{repo.repo_id}/commit/{commit}"})

    def resolve(self, handler, method, query, id, rev, file, prefix=None):
        repo_type = (prefix or "model/").rstrip("/").rstrip("s") if prefix else "model"
        repo, commit = self._at(handler, method, repo_type, id, rev)
        if repo is None:
            return
        f = repo.commits[commit]["files"].get(unquote(file))
        headers = {"X-Repo-Commit": commit}
        if f is None:
            return self.send(
                handler,
                404,
                {"error": "Entry not found"},
                {**headers, "X-Error-Code": "EntryNotFound", "X-Error-Message": "Entry not found"},
                method,
            )
        headers["ETag"] = f'"{f["sha256"] if f["lfs"] else f["oid"]}"'
        if f["lfs"]:
            headers["X-Linked-Etag"] = f'"{f["sha256"]}"'
            headers["X-Linked-Size"] = str(f["size"])
        self.send(handler, 200, f["data"], headers, method)

    # -- inspection for tests -------------------------------------------------------------------------------------

    def files(self, repo_id: str, repo_type: str = "model", revision: str = "main") -> dict[str, bytes]:
        repo = self.repos[(repo_type, repo_id)]
        return {p: f["data"] for p, f in repo.commits[repo.resolve(revision)]["files"].items()}
