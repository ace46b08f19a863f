"""The agent's configuration: `<home>/agent.toml`.

owner = "vox1..."                 # the account whose devices the agent serves
chain_id = "voxpop-devnet"
nodes = ["http://127.0.0.1:26657"] # several: reads fail over, no one node is trusted
host = "127.0.0.1"                # devices on other machines: set the LAN address
port = 6712
key_name = "agent"
keyring_backend = "file"          # "test" on a devnet only

[tokens]                          # seconds
access_ttl = 86400
refresh_ttl = 2592000
pairing_ttl = 86400

[opt_in]                          # all off unless the owner turns them on
metrics = false
uploads = false
skill_usage = false

[skill_use_caps]                  # uses per skill per day counted for royalties
default = 100
"@abc|my-skill" = 20

[payments]                        # the paying client's policy (uvox)
deposit = 10000000
daily_cap = 5000000

[home]                            # the owner's web app at / (docs/home.md)
owner_home = "/home/me/.voxpop"   # the --home whose keyring holds the owner key on this machine
owner_key = "owner"               # (no owner_home: pages show the command to run where it lives)
owner_keyring_backend = "file"
session_ttl = 900                 # seconds an unlocked session lasts without use
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomli_w

from voxpop.agent.errors import AgentConfigError
from voxpop.crypto import decode_address, encode_address, is_address

CONFIG_FILE = "agent.toml"
DEFAULT_PORT = 6712
DEFAULT_HOST = "127.0.0.1"
DEFAULT_ACCESS_TTL = 24 * 3600
DEFAULT_REFRESH_TTL = 30 * 24 * 3600
DEFAULT_PAIRING_TTL = 24 * 3600  # as Selene: devices keep a code for hours
DEFAULT_SKILL_USE_CAP = 100
DEFAULT_SYNC_INTERVAL = 30.0
DEFAULT_CACHE_FRESH = 10.0
DEFAULT_SESSION_TTL = 15 * 60  # an unlocked home session, idle
MAX_BODY_BYTES = 64 * 1024  # JSON bodies
MAX_UPLOAD_BYTES = 4 * 1024 * 1024  # audio bodies (stt, wake words, utterances)

_PAYMENT_INTS = ("deposit", "top_up_below", "top_up_amount", "daily_cap")


@dataclass(frozen=True, slots=True)
class TokenLifetimes:
    access_ttl: int = DEFAULT_ACCESS_TTL
    refresh_ttl: int = DEFAULT_REFRESH_TTL
    pairing_ttl: int = DEFAULT_PAIRING_TTL


@dataclass(frozen=True, slots=True)
class OptIns:
    """What the owner lets the agent do with what devices report (all off by default)."""

    metrics: bool = False
    uploads: bool = False
    skill_usage: bool = False


@dataclass(frozen=True, slots=True)
class PaymentSettings:
    """The owner's payment policy (client/payments/policy.py Policy) as the config writes it."""

    deposit: int = 10_000_000
    top_up_below: int = 1_000_000
    top_up_amount: int = 10_000_000
    daily_cap: int | None = None
    service_caps: Mapping[str, int] = field(default_factory=dict)
    max_price: Mapping[str, int] = field(default_factory=dict)
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class HomeSettings:
    """The owner's web app (agent/home): where the owner key lives on this machine, if it does."""

    owner_home: Path | None = None
    owner_key: str = "owner"
    owner_keyring_backend: str = "file"
    session_ttl: int = DEFAULT_SESSION_TTL


@dataclass(frozen=True, slots=True)
class AgentConfig:
    home: Path
    owner: bytes  # 20-byte address
    chain_id: str
    nodes: tuple[str, ...]
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    key_name: str = "agent"
    keyring_backend: str = "file"
    trusted_validator_keys: tuple[bytes, ...] = ()
    tokens: TokenLifetimes = field(default_factory=TokenLifetimes)
    opt_in: OptIns = field(default_factory=OptIns)
    skill_use_caps: Mapping[str, int] = field(default_factory=dict)
    default_skill_use_cap: int = DEFAULT_SKILL_USE_CAP
    payments: PaymentSettings = field(default_factory=PaymentSettings)
    max_body_bytes: int = MAX_BODY_BYTES
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    sync_interval: float = DEFAULT_SYNC_INTERVAL  # seconds between catch-ups with the chain
    cache_fresh_seconds: float = DEFAULT_CACHE_FRESH  # reads served from the verified cache
    home_settings: HomeSettings = field(default_factory=HomeSettings)

    @property
    def config_path(self) -> Path:
        return self.home / CONFIG_FILE

    @property
    def url(self) -> str:
        """The URL devices use (without /v1)."""
        return f"http://{self.host}:{self.port}"

    def skill_use_cap(self, skill_id: str) -> int:
        return self.skill_use_caps.get(skill_id, self.default_skill_use_cap)

    def policy(self) -> Any:
        """The paying client's Policy (imported lazily: the agent starts without the payer)."""
        from voxpop.client.payments import Policy

        p = self.payments
        return Policy(
            deposit=p.deposit,
            top_up_below=p.top_up_below,
            top_up_amount=p.top_up_amount,
            daily_cap=p.daily_cap,
            service_caps=dict(p.service_caps),
            max_price=dict(p.max_price),
            timeout=p.timeout,
        )

    def with_changes(self, **changes: Any) -> AgentConfig:
        return replace(self, **changes)


def load_config(home: Path) -> AgentConfig:
    """Read `<home>/agent.toml`. Raises AgentConfigError naming the bad field."""
    path = Path(home) / CONFIG_FILE
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AgentConfigError(f"{path} does not exist: run `voxpop agent init`") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise AgentConfigError(f"cannot read {path}: {exc}") from None
    return config_from_doc(Path(home), doc)


def config_from_doc(home: Path, doc: Mapping[str, Any]) -> AgentConfig:
    """An AgentConfig from a parsed agent.toml. Raises AgentConfigError."""
    owner_text = _get(doc, "owner", str)
    # Verify the owner is an account address
    if not is_address(owner_text):
        raise AgentConfigError(f"owner: {owner_text!r} is not an account address")
    nodes = doc.get("nodes")
    # Verify there is at least one node URL
    if not isinstance(nodes, list) or not nodes or not all(isinstance(n, str) for n in nodes):
        raise AgentConfigError("nodes: a list of one or more node API URLs")
    port = doc.get("port", DEFAULT_PORT)
    # Verify the port is a TCP port (0 = any free port, for tests)
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise AgentConfigError("port: an integer 0-65535")
    backend = doc.get("keyring_backend", "file")
    if backend not in ("file", "test"):
        raise AgentConfigError("keyring_backend: file or test")
    tokens_doc = _table(doc, "tokens")
    tokens = TokenLifetimes(
        access_ttl=_positive(tokens_doc, "access_ttl", where="tokens.", default=DEFAULT_ACCESS_TTL),
        refresh_ttl=_positive(
            tokens_doc, "refresh_ttl", where="tokens.", default=DEFAULT_REFRESH_TTL
        ),
        pairing_ttl=_positive(
            tokens_doc, "pairing_ttl", where="tokens.", default=DEFAULT_PAIRING_TTL
        ),
    )
    opt_doc = _table(doc, "opt_in")
    for name, value in opt_doc.items():
        if name not in ("metrics", "uploads", "skill_usage") or not isinstance(value, bool):
            raise AgentConfigError(f"opt_in.{name}: metrics, uploads or skill_usage = true/false")
    opt_in = OptIns(**opt_doc)
    caps_doc = dict(_table(doc, "skill_use_caps"))
    default_cap = caps_doc.pop("default", DEFAULT_SKILL_USE_CAP)
    for name, value in [("default", default_cap), *caps_doc.items()]:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise AgentConfigError(f"skill_use_caps.{name}: a non-negative integer")
    pay_doc = _table(doc, "payments")
    pay_kwargs: dict[str, Any] = {}
    for name, value in pay_doc.items():
        if name in _PAYMENT_INTS:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise AgentConfigError(f"payments.{name}: a non-negative integer (uvox)")
        elif name in ("service_caps", "max_price"):
            if not isinstance(value, dict) or not all(
                isinstance(v, int) and v >= 0 for v in value.values()
            ):
                raise AgentConfigError(f"payments.{name}: a table of non-negative integers")
        elif name == "timeout":
            if not isinstance(value, int | float) or value <= 0:
                raise AgentConfigError("payments.timeout: positive seconds")
            value = float(value)
        else:
            raise AgentConfigError(f"payments.{name}: unknown setting")
        pay_kwargs[name] = value
    keys = doc.get("trusted_validator_keys", [])
    try:
        trusted = tuple(bytes.fromhex(k) for k in keys)
    except (TypeError, ValueError):
        raise AgentConfigError("trusted_validator_keys: a list of hex keys") from None
    return AgentConfig(
        home=home,
        home_settings=_home_settings(_table(doc, "home")),
        owner=decode_address(owner_text),
        chain_id=_get(doc, "chain_id", str),
        nodes=tuple(n.rstrip("/") for n in nodes),
        host=str(doc.get("host", DEFAULT_HOST)),
        port=port,
        key_name=str(doc.get("key_name", "agent")),
        keyring_backend=backend,
        trusted_validator_keys=trusted,
        tokens=tokens,
        opt_in=opt_in,
        skill_use_caps=caps_doc,
        default_skill_use_cap=default_cap,
        payments=PaymentSettings(**pay_kwargs),
        max_body_bytes=_positive(doc, "max_body_bytes", MAX_BODY_BYTES),
        max_upload_bytes=_positive(doc, "max_upload_bytes", MAX_UPLOAD_BYTES),
        sync_interval=_seconds(doc, "sync_interval", DEFAULT_SYNC_INTERVAL),
        cache_fresh_seconds=_seconds(doc, "cache_fresh_seconds", DEFAULT_CACHE_FRESH),
    )


def config_to_doc(config: AgentConfig) -> dict[str, Any]:
    """The agent.toml document of `config` (what init writes)."""
    pay = config.payments
    payments: dict[str, Any] = {
        "deposit": pay.deposit,
        "top_up_below": pay.top_up_below,
        "top_up_amount": pay.top_up_amount,
        "timeout": pay.timeout,
    }
    if pay.daily_cap is not None:
        payments["daily_cap"] = pay.daily_cap
    if pay.service_caps:
        payments["service_caps"] = dict(pay.service_caps)
    if pay.max_price:
        payments["max_price"] = dict(pay.max_price)
    return {
        "owner": encode_address(config.owner),
        "chain_id": config.chain_id,
        "nodes": list(config.nodes),
        "host": config.host,
        "port": config.port,
        "key_name": config.key_name,
        "keyring_backend": config.keyring_backend,
        "trusted_validator_keys": [k.hex() for k in config.trusted_validator_keys],
        "max_body_bytes": config.max_body_bytes,
        "max_upload_bytes": config.max_upload_bytes,
        "sync_interval": config.sync_interval,
        "cache_fresh_seconds": config.cache_fresh_seconds,
        "tokens": {
            "access_ttl": config.tokens.access_ttl,
            "refresh_ttl": config.tokens.refresh_ttl,
            "pairing_ttl": config.tokens.pairing_ttl,
        },
        "opt_in": {
            "metrics": config.opt_in.metrics,
            "uploads": config.opt_in.uploads,
            "skill_usage": config.opt_in.skill_usage,
        },
        "skill_use_caps": {"default": config.default_skill_use_cap, **config.skill_use_caps},
        "payments": payments,
        "home": _home_doc(config.home_settings),
    }


def _home_settings(doc: Mapping[str, Any]) -> HomeSettings:
    for name in doc:
        if name not in ("owner_home", "owner_key", "owner_keyring_backend", "session_ttl"):
            raise AgentConfigError(f"home.{name}: unknown setting")
    owner_home = doc.get("owner_home")
    # Verify the owner's home is a path (or absent: the owner key lives elsewhere)
    if owner_home is not None and (not isinstance(owner_home, str) or not owner_home):
        raise AgentConfigError("home.owner_home: a directory path")
    key = doc.get("owner_key", "owner")
    if not isinstance(key, str) or not key:
        raise AgentConfigError("home.owner_key: a keyring key name")
    backend = doc.get("owner_keyring_backend", "file")
    if backend not in ("file", "test"):
        raise AgentConfigError("home.owner_keyring_backend: file or test")
    return HomeSettings(
        owner_home=Path(owner_home) if owner_home else None,
        owner_key=key,
        owner_keyring_backend=backend,
        session_ttl=_positive(doc, "session_ttl", DEFAULT_SESSION_TTL, where="home."),
    )


def _home_doc(home: HomeSettings) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "owner_key": home.owner_key,
        "owner_keyring_backend": home.owner_keyring_backend,
        "session_ttl": home.session_ttl,
    }
    if home.owner_home is not None:
        doc["owner_home"] = str(home.owner_home)
    return doc


def write_config(config: AgentConfig) -> Path:
    config.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = config.config_path
    path.write_text(tomli_w.dumps(config_to_doc(config)), encoding="utf-8")
    return path


def init_agent_home(
    home: Path,
    *,
    owner: bytes,
    chain_id: str,
    nodes: list[str] | tuple[str, ...],
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    key_name: str = "agent",
    keyring_backend: str = "file",
    passphrase: str | None = None,
    opt_in: OptIns | None = None,
    overwrite: bool = False,
) -> tuple[AgentConfig, bytes]:
    """Create an agent home: agent.toml and a new agent key in its keyring. Returns the config
    and the agent's address (what the owner authorizes). Raises AgentConfigError, AgentKeyError."""
    from voxpop.agent.keys import create_agent_key

    home = Path(home)
    if (home / CONFIG_FILE).exists() and not overwrite:
        raise AgentConfigError(f"{home / CONFIG_FILE} exists already", code="agent_home_exists")
    config = AgentConfig(
        home=home,
        owner=owner,
        chain_id=chain_id,
        nodes=tuple(n.rstrip("/") for n in nodes),
        host=host,
        port=port,
        key_name=key_name,
        keyring_backend=keyring_backend,
        opt_in=opt_in or OptIns(),
    )
    # Verify the config round-trips before writing anything
    config_from_doc(home, config_to_doc(config))
    address = create_agent_key(config, passphrase)
    write_config(config)
    return config, address


def _get(doc: Mapping[str, Any], name: str, kind: type) -> Any:
    value = doc.get(name)
    if not isinstance(value, kind):
        raise AgentConfigError(f"{name}: required ({kind.__name__})")
    return value


def _table(doc: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = doc.get(name, {})
    if not isinstance(value, dict):
        raise AgentConfigError(f"[{name}] must be a table")
    return value


def _positive(doc: Mapping[str, Any], name: str, default: int, where: str = "") -> int:
    value = doc.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise AgentConfigError(f"{where}{name}: a positive integer")
    return value


def _seconds(doc: Mapping[str, Any], name: str, default: float) -> float:
    value = doc.get(name, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise AgentConfigError(f"{name}: seconds, 0 or more (0: never)")
    return float(value)
