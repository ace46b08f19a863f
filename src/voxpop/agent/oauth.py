"""OAuth for skills, with the owner's own OAuth apps: when Mycroft's shared credential store died,
Spotify users were stranded; here the owner registers an app of their own in `agent.toml` and
connects it in a browser against the agent. Tokens stay in the agent's encrypted LocalStore and
the agent refreshes them; devices get only the access token.

    [oauth.spotify]                      # "spotify": the credential name skills ask for
    client_id = "..."
    client_secret_file = "spotify.secret" # or client_secret = "..." (relative to the home)
    auth_endpoint = "https://accounts.spotify.com/authorize"
    token_endpoint = "https://accounts.spotify.com/api/token"
    scope = "user-read-playback-state user-modify-playback-state"
    redirect_uri = "http://localhost:6712/v1/oauth/callback"   # as registered with the provider
    client_auth = "basic"                # or "post" (client_secret in the form)

The flow (authorization code with PKCE, RFC 6749 + 7636):
1. `connect_url(cred)`: a link to `/v1/oauth/{cred}/start?ticket=...` (a ticket signed with a key
   derived from the agent key, valid 10 minutes) — `voxpop agent oauth-link CRED` prints it, and a
   paired device may ask for it (`GET /v1/device/{uuid}/oauth/{cred}/link`).
2. start: checks the ticket, keeps a one-time `state` (stored hashed) with the PKCE verifier, and
   redirects the browser to the provider.
3. callback (`/v1/oauth/callback?code&state`): the state is taken (once, within 10 minutes), the
   code exchanged at the token endpoint, the tokens stored.
4. `GET /v1/device/{uuid}/token/{cred}`: the access token, refreshed first when it expires
   within a minute.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import tomllib
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from voxpop.agent.errors import AgentError

TOKENS_NS = "oauth-tokens"
STATES_NS = "oauth-states"
TICKET_TTL = 600  # seconds a connect link stays valid
STATE_TTL = 600  # seconds between start and callback
REFRESH_MARGIN = 60  # refresh a token that expires within this many seconds
HTTP_TIMEOUT = 10.0
MAX_TOKEN_RESPONSE = 64 * 1024
CRED_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
_TICKET_DOMAIN = b"voxpop/agent-oauth-ticket/v1\x00"


class OAuthError(AgentError):
    """An OAuth failure with a stable code and the HTTP status the agent answers with."""

    code = "oauth_error"
    status = 400

    def __init__(self, message: str, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message, code)
        if status is not None:
            self.status = status


class OAuthConfigError(OAuthError):
    code = "invalid_oauth_config"
    status = 500


class Store(Protocol):
    def get(self, ns: str, key: str) -> bytes | None: ...
    def put(self, ns: str, key: str, value: bytes) -> None: ...
    def delete(self, ns: str, key: str) -> bool: ...
    def items(self, ns: str) -> list[tuple[str, bytes]]: ...


@dataclass(frozen=True, slots=True)
class OAuthApp:
    """One OAuth app the owner registered (`[oauth.<cred>]` in agent.toml)."""

    cred: str
    client_id: str
    client_secret: str
    auth_endpoint: str
    token_endpoint: str
    scope: str = ""
    redirect_uri: str | None = None  # default: the agent's own /v1/oauth/callback
    client_auth: str = "basic"

    def __repr__(self) -> str:  # never show the secret in logs or tracebacks
        return f"OAuthApp(cred={self.cred!r}, client_id={self.client_id!r})"


def load_apps(home: Path) -> dict[str, OAuthApp]:
    """The `[oauth.<cred>]` tables of `<home>/agent.toml`. Raises OAuthConfigError."""
    path = Path(home) / "agent.toml"
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise OAuthConfigError(f"cannot read {path}: {exc}") from None
    return apps_from_doc(Path(home), doc.get("oauth", {}))


def apps_from_doc(home: Path, tables: Any) -> dict[str, OAuthApp]:
    """OAuthApps from the parsed `oauth` table. Raises OAuthConfigError naming the bad field."""
    if not isinstance(tables, dict):
        raise OAuthConfigError("[oauth] must be a table of apps")
    apps: dict[str, OAuthApp] = {}
    for cred, table in tables.items():
        where = f"oauth.{cred}"
        # Verify the credential name is one a URL path carries as it is
        if not CRED_NAME.match(cred):
            raise OAuthConfigError(f"{where}: names are 1-64 of A-Z a-z 0-9 _ . -")
        if not isinstance(table, dict):
            raise OAuthConfigError(f"{where} must be a table")
        fields: dict[str, str] = {}
        for name in ("client_id", "auth_endpoint", "token_endpoint"):
            value = table.get(name)
            if not isinstance(value, str) or not value.strip():
                raise OAuthConfigError(f"{where}.{name}: required")
            fields[name] = value.strip()
        for name in ("auth_endpoint", "token_endpoint"):
            # Verify the endpoints are http(s) URLs
            if urllib.parse.urlsplit(fields[name]).scheme not in ("http", "https"):
                raise OAuthConfigError(f"{where}.{name}: an http(s) URL")
        secret = table.get("client_secret")
        secret_file = table.get("client_secret_file")
        if isinstance(secret_file, str):
            try:
                secret = (home / secret_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise OAuthConfigError(f"{where}.client_secret_file: {exc.strerror}") from None
        if not isinstance(secret, str) or not secret:
            raise OAuthConfigError(f"{where}: client_secret or client_secret_file required")
        client_auth = table.get("client_auth", "basic")
        if client_auth not in ("basic", "post"):
            raise OAuthConfigError(f"{where}.client_auth: basic or post")
        redirect = table.get("redirect_uri")
        if redirect is not None and not isinstance(redirect, str):
            raise OAuthConfigError(f"{where}.redirect_uri: a URL")
        scope = table.get("scope", "")
        if not isinstance(scope, str):
            raise OAuthConfigError(f"{where}.scope: a string")
        apps[cred] = OAuthApp(
            cred,
            fields["client_id"],
            secret,
            fields["auth_endpoint"],
            fields["token_endpoint"],
            scope,
            redirect,
            client_auth,
        )
    return apps


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class OAuthBroker:
    """The owner's OAuth apps and tokens for one agent (thread-safe)."""

    def __init__(
        self,
        store: Store,
        apps: Mapping[str, OAuthApp],
        ticket_secret: bytes,
        *,
        clock: Callable[[], float] = time.time,
        http: httpx.Client | None = None,
    ) -> None:
        self.store = store
        self.apps = dict(apps)
        self._ticket_key = hmac.new(ticket_secret, _TICKET_DOMAIN, hashlib.sha256).digest()
        self.clock = clock
        self._http = http
        self._lock = threading.Lock()

    def app(self, cred: str) -> OAuthApp:
        """Raises OAuthError (404 oauth_unknown_credential)."""
        found = self.apps.get(cred)
        if found is None:
            raise OAuthError(
                f"no OAuth app {cred!r} in the agent's config", "oauth_unknown_credential", 404
            )
        return found

    # --- 1. a connect link --------------------------------------------------------------------

    def new_ticket(self, cred: str) -> str:
        """A ticket that lets a browser start connecting `cred` for TICKET_TTL seconds."""
        self.app(cred)
        expires = int(self.clock()) + TICKET_TTL
        mac = hmac.new(self._ticket_key, f"{cred}\x00{expires}".encode(), hashlib.sha256)
        return f"{expires}.{mac.hexdigest()[:32]}"

    def connect_url(self, cred: str, agent_url: str) -> str:
        ticket = self.new_ticket(cred)
        query = urllib.parse.urlencode({"ticket": ticket})
        return f"{agent_url.rstrip('/')}/v1/oauth/{cred}/start?{query}"

    def check_ticket(self, cred: str, ticket: str) -> None:
        """Raises OAuthError (403 oauth_bad_ticket)."""
        expires_text, _, mac = ticket.partition(".")
        valid = False
        if expires_text.isdigit() and len(mac) == 32:
            want = hmac.new(
                self._ticket_key, f"{cred}\x00{expires_text}".encode(), hashlib.sha256
            ).hexdigest()[:32]
            # Verify the ticket was made by this agent for this credential, and is still valid
            valid = hmac.compare_digest(want, mac) and int(expires_text) >= self.clock()
        if not valid:
            raise OAuthError(
                "the connect link is not valid (expired or not this agent's): ask for a new one",
                "oauth_bad_ticket",
                403,
            )

    # --- 2. start -----------------------------------------------------------------------------

    def start(self, cred: str, ticket: str, redirect_uri: str) -> str:
        """The provider's authorization URL to send the browser to. Raises OAuthError."""
        app = self.app(cred)
        self.check_ticket(cred, ticket)
        redirect = app.redirect_uri or redirect_uri
        state = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        record = {
            "cred": cred,
            "verifier": verifier,
            "redirect_uri": redirect,
            "expires": int(self.clock()) + STATE_TTL,
        }
        with self._lock:
            self._prune_states()
            self.store.put(STATES_NS, _digest(state), json.dumps(record).encode())
        query = {
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": redirect,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        if app.scope:
            query["scope"] = app.scope
        sep = "&" if urllib.parse.urlsplit(app.auth_endpoint).query else "?"
        return app.auth_endpoint + sep + urllib.parse.urlencode(query)

    def _prune_states(self) -> None:
        now = self.clock()
        for key, raw in self.store.items(STATES_NS):
            if json.loads(raw)["expires"] < now:
                self.store.delete(STATES_NS, key)

    # --- 3. callback --------------------------------------------------------------------------

    def complete(self, state: str, code: str) -> str:
        """Exchange the code the provider sent back; returns the credential connected.
        Raises OAuthError."""
        with self._lock:
            raw = self.store.get(STATES_NS, _digest(state))
            # A state is good once: taken now, whatever happens next
            if raw is not None:
                self.store.delete(STATES_NS, _digest(state))
        record = json.loads(raw) if raw is not None else None
        # Verify the state is one this agent started, not yet used, within its time
        if record is None or record["expires"] < self.clock():
            raise OAuthError(
                "unknown or expired state: start again from a new link", "oauth_bad_state", 400
            )
        app = self.app(record["cred"])
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": record["redirect_uri"],
            "code_verifier": record["verifier"],
        }
        token = self._token_request(app, form)
        self._save(app.cred, token, previous=None)
        return app.cred

    # --- 4. tokens for devices ----------------------------------------------------------------

    def token(self, cred: str, *, refresh: bool = True) -> dict[str, Any]:
        """The access token of `cred` as a device gets it (no refresh token), refreshed first
        if it expires within REFRESH_MARGIN seconds and `refresh`. Raises OAuthError."""
        app = self.app(cred)
        with self._lock:
            stored = self._load(cred)
            if stored is None:
                raise OAuthError(
                    f"{cred!r} is not connected: the owner opens a connect link in a browser",
                    "oauth_not_connected",
                    404,
                )
            now = self.clock()
            expires_at = stored.get("expires_at")
            due = isinstance(expires_at, int) and expires_at - now < REFRESH_MARGIN
            if refresh and due and stored.get("refresh_token"):
                try:
                    fresh = self._token_request(
                        app,
                        {"grant_type": "refresh_token", "refresh_token": stored["refresh_token"]},
                    )
                except OAuthError:
                    # A provider that is down leaves a still valid token usable
                    if isinstance(expires_at, int) and expires_at > now:
                        return device_view(stored, now)
                    raise
                stored = self._save(cred, fresh, previous=stored)
            return device_view(stored, self.clock())

    def connected(self) -> list[str]:
        return sorted(k for k, _ in self.store.items(TOKENS_NS))

    def disconnect(self, cred: str) -> bool:
        return self.store.delete(TOKENS_NS, cred)

    # --- the provider ---------------------------------------------------------------------------

    def _token_request(self, app: OAuthApp, form: dict[str, str]) -> dict[str, Any]:
        """POST to the token endpoint with the app's client authentication. Raises OAuthError
        (502 oauth_provider_refused, 503 oauth_provider_unavailable)."""
        auth: tuple[str, str] | None = None
        body = dict(form)
        if app.client_auth == "basic":
            auth = (app.client_id, app.client_secret)
        else:
            body["client_id"] = app.client_id
            body["client_secret"] = app.client_secret
        client = self._http or httpx.Client(timeout=HTTP_TIMEOUT)
        try:
            resp = client.post(
                app.token_endpoint,
                data=body,
                auth=auth or httpx.USE_CLIENT_DEFAULT,
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            raise OAuthError(
                f"the token endpoint of {app.cred!r} did not answer ({exc.__class__.__name__})",
                "oauth_provider_unavailable",
                503,
            ) from None
        finally:
            if self._http is None:
                client.close()
        # Verify the provider is up (a 5xx is its outage, not a refusal)
        if resp.status_code >= 500:
            raise OAuthError(
                f"the token endpoint of {app.cred!r} is unavailable (HTTP {resp.status_code})",
                "oauth_provider_unavailable",
                503,
            )
        doc: Any = None
        if len(resp.content) <= MAX_TOKEN_RESPONSE:
            try:
                doc = resp.json()
            except ValueError:
                doc = None
        # Verify the provider granted a token (RFC 6749 5.1), else pass on its error name only
        if resp.status_code != 200 or not isinstance(doc, dict) or not doc.get("access_token"):
            error = doc.get("error") if isinstance(doc, dict) else None
            name = (
                error if isinstance(error, str) and len(error) < 64 else f"HTTP {resp.status_code}"
            )
            raise OAuthError(
                f"the provider of {app.cred!r} refused the token request: {name}",
                "oauth_provider_refused",
                502,
            )
        return doc

    def _save(
        self, cred: str, token: dict[str, Any], previous: dict[str, Any] | None
    ) -> dict[str, Any]:
        now = int(self.clock())
        expires_in = token.get("expires_in")
        record = {
            "access_token": str(token["access_token"]),
            "token_type": str(token.get("token_type", "Bearer")),
            "scope": str(token.get("scope", (previous or {}).get("scope", ""))),
            # A refresh answer may leave the refresh token out: the old one stays good
            "refresh_token": token.get("refresh_token") or (previous or {}).get("refresh_token"),
            "expires_at": now + int(expires_in) if isinstance(expires_in, int | float) else None,
            "obtained_at": now,
        }
        self.store.put(TOKENS_NS, cred, json.dumps(record).encode())
        return record

    def _load(self, cred: str) -> dict[str, Any] | None:
        raw = self.store.get(TOKENS_NS, cred)
        return None if raw is None else dict(json.loads(raw))


def device_view(stored: Mapping[str, Any], now: float) -> dict[str, Any]:
    """What a device gets: the access token and its lifetime, never the refresh token."""
    out: dict[str, Any] = {
        "access_token": stored["access_token"],
        "token_type": stored["token_type"],
        "scope": stored["scope"],
    }
    expires_at = stored.get("expires_at")
    if isinstance(expires_at, int):
        out["expires_at"] = expires_at
        out["expires_in"] = max(0, expires_at - int(now))
    return out


def broker_for(agent: Any) -> OAuthBroker:
    """The agent's broker, made on first use from its home's agent.toml (kept on the agent)."""
    broker: OAuthBroker | None = getattr(agent, "_oauth_broker", None)
    if broker is None:
        broker = OAuthBroker(
            agent.store, load_apps(agent.config.home), agent.key.seed, clock=agent.clock
        )
        agent._oauth_broker = broker
    return broker
