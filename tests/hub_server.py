"""A stand-in for the Hugging Face Hub on 127.0.0.1: just the endpoints `huggingface_hub` calls to check the token
(`whoami-v2`: user `you`, a token of role `role`), create a repo, a branch, and commit files (all uploads answered as
"regular", so file contents travel inside the commit)."""

import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class HubStandIn:
    def __init__(self, storage: Path, token: str, user: str = "you", role: str = "write"):
        self.storage = Path(storage)
        self.token = token
        self.user = user
        self.role = role
        self.requests: list[tuple[str, str]] = []
        self.repos: dict[str, dict] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def files(self, repo_id: str, revision: str = "main") -> Path:
        return self.storage / repo_id / revision

    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status: int, payload: dict):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                hub.requests.append(("GET", self.path))
                if self.path.split("?")[0] == "/api/whoami-v2":
                    if self.headers.get("Authorization") != f"Bearer {hub.token}":
                        return self._reply(401, {"error": "Invalid credentials in Authorization header"})
                    return self._reply(200, {"type": "user", "name": hub.user, "orgs": [],
                                             "auth": {"type": "access_token", "accessToken": {"role": hub.role}}})
                self._reply(404, {"error": f"not implemented: GET {self.path}"})

            def do_POST(self):
                hub.requests.append(("POST", self.path))
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Authorization") != f"Bearer {hub.token}":
                    return self._reply(401, {"error": "Invalid credentials"})
                path = self.path.split("?")[0]
                if path == "/api/repos/create":
                    request = json.loads(body)
                    repo_id = f"{request['organization']}/{request['name']}" if request.get("organization") else request["name"]
                    hub.repos.setdefault(repo_id, {"visibility": request.get("visibility"), "branches": {"main"},
                                                   "type": request.get("type") or "model", "sdk": request.get("sdk")})
                    return self._reply(200, {"url": f"{hub.endpoint}/{repo_id}", "name": repo_id})
                if path == "/api/validate-yaml":
                    return self._reply(200, {"errors": [], "warnings": []})
                parts = path.split("/")  # ['', 'api', 'models' | 'spaces', ns, name, action, revision...]
                if len(parts) >= 7 and parts[1] == "api" and parts[2] in ("models", "spaces"):
                    repo_id, action, revision = f"{parts[3]}/{parts[4]}", parts[5], "/".join(parts[6:])
                    if repo_id not in hub.repos:
                        return self._reply(404, {"error": f"Repository {repo_id} not found"})
                    if action == "branch":
                        hub.repos[repo_id]["branches"].add(revision)
                        return self._reply(200, {})
                    if action == "preupload":
                        files = json.loads(body)["files"]
                        return self._reply(200, {"files": [
                            {"path": item["path"], "uploadMode": "regular", "shouldIgnore": False} for item in files
                        ]})
                    if action == "commit":
                        if revision not in hub.repos[repo_id]["branches"]:
                            return self._reply(404, {"error": f"Revision {revision} not found"})
                        target = hub.files(repo_id, revision)
                        digest = hashlib.sha1()
                        for line in body.decode().splitlines():
                            item = json.loads(line)
                            if item["key"] == "header":
                                hub.repos[repo_id].setdefault("commits", []).append(item["value"]["summary"])
                            elif item["key"] == "file":
                                content = base64.b64decode(item["value"]["content"])
                                destination = target / item["value"]["path"]
                                destination.parent.mkdir(parents=True, exist_ok=True)
                                destination.write_bytes(content)
                                digest.update(content)
                            else:
                                return self._reply(400, {"error": f"unexpected commit entry {item['key']}"})
                        oid = digest.hexdigest()
                        return self._reply(200, {"commitUrl": f"{hub.endpoint}/{repo_id}/commit/{oid}", "commitOid": oid})
                self._reply(404, {"error": f"not implemented: POST {path}"})

        return Handler
