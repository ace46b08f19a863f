"""A small OAuth 2.0 provider for tests (authorization code with PKCE, refresh tokens), run in a
thread on a free local port: what Spotify's accounts service does, as far as the agent sees it.

    with LocalOAuthServer.start(client_id="app", client_secret="s3cret") as server:
        server.authorize_url, server.token_url

/authorize approves at once (the owner "clicks allow"): it redirects to redirect_uri with a code
and the state, or with error=access_denied when `state.deny`. /token checks the client's HTTP
Basic credentials, the code, the redirect_uri and the PKCE verifier; refresh answers a new access
token without a new refresh token (as Spotify does). `state.down` makes /token answer 503.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass
class OAuthState:
    client_id: str
    client_secret: str
    expires_in: int = 3600
    deny: bool = False
    down: bool = False
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    refresh_tokens: set[str] = field(default_factory=set)
    access_tokens: list[str] = field(default_factory=list)
    grants: list[str] = field(default_factory=list)  # grant_type of each good /token call
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/authorize":
            self._json(404, {"error": "not_found"})
            return
        q = dict(urllib.parse.parse_qsl(url.query))
        state = self.server.state
        if q.get("client_id") != state.client_id or q.get("response_type") != "code":
            self._json(400, {"error": "invalid_request"})
            return
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            self._json(400, {"error": "invalid_request", "error_description": "PKCE required"})
            return
        redirect = q["redirect_uri"]
        if state.deny:
            target = {"error": "access_denied", "state": q.get("state", "")}
        else:
            code = secrets.token_urlsafe(16)
            with state.lock:
                state.codes[code] = {
                    "redirect_uri": redirect,
                    "challenge": q["code_challenge"],
                    "scope": q.get("scope", ""),
                }
            target = {"code": code, "state": q.get("state", "")}
        self.send_response(302)
        self.send_header("Location", redirect + "?" + urllib.parse.urlencode(target))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        state = self.server.state
        if urllib.parse.urlsplit(self.path).path != "/token":
            self._json(404, {"error": "not_found"})
            return
        if state.down:
            self._json(503, {"error": "temporarily_unavailable"})
            return
        length = int(self.headers.get("Content-Length", "0"))
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        expected = base64.b64encode(f"{state.client_id}:{state.client_secret}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {expected}":
            self._json(401, {"error": "invalid_client"})
            return
        grant = form.get("grant_type")
        with state.lock:
            if grant == "authorization_code":
                issued = state.codes.pop(form.get("code", ""), None)
                if issued is None or issued["redirect_uri"] != form.get("redirect_uri"):
                    self._json(400, {"error": "invalid_grant"})
                    return
                verifier = form.get("code_verifier", "")
                digest = hashlib.sha256(verifier.encode()).digest()
                challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
                if challenge != issued["challenge"]:
                    self._json(400, {"error": "invalid_grant", "error_description": "PKCE"})
                    return
                refresh = "rt-" + secrets.token_urlsafe(12)
                state.refresh_tokens.add(refresh)
                answer = self._issue(state, issued["scope"])
                answer["refresh_token"] = refresh
            elif grant == "refresh_token":
                if form.get("refresh_token") not in state.refresh_tokens:
                    self._json(400, {"error": "invalid_grant"})
                    return
                answer = self._issue(state, "")
            else:
                self._json(400, {"error": "unsupported_grant_type"})
                return
            state.grants.append(grant)
        self._json(200, answer)

    @staticmethod
    def _issue(state: OAuthState, scope: str) -> dict[str, Any]:
        token = f"at-{len(state.access_tokens) + 1}-" + secrets.token_urlsafe(8)
        state.access_tokens.append(token)
        answer: dict[str, Any] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": state.expires_in,
        }
        if scope:
            answer["scope"] = scope
        return answer

    def _json(self, status: int, doc: Any) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: OAuthState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class LocalOAuthServer:
    def __init__(self, server: _Server) -> None:
        self._server = server
        self.state = server.state
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)

    @classmethod
    def start(
        cls, *, client_id: str, client_secret: str, expires_in: int = 3600
    ) -> LocalOAuthServer:
        server = cls(_Server(OAuthState(client_id, client_secret, expires_in)))
        server._thread.start()
        return server

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def authorize_url(self) -> str:
        return self.url + "/authorize"

    @property
    def token_url(self) -> str:
        return self.url + "/token"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> LocalOAuthServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
