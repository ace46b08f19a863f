"""Any OVOS speech-to-text plugin as an stt engine: `--engine ovos:<plugin-name>`, loaded through
ovos-plugin-manager (`pip install 'voxpop[ovos]'` and the plugin's own package).

A provider must answer from the moment it starts, offline: a plugin that downloads its model at
start would stall or leak the first calls. So the plugin is constructed with the network shut
(only loopback and Unix sockets are allowed) and against a deadline, and it is refused, with a
message that says which, if it tries to reach the network or does not finish in time. The shut
is a process audit hook (PEP 578): it sees every socket connect and name lookup from any library,
and it is only in force while a plugin is being constructed.

Audio is taken as by the pocketsphinx engine (FLAC or WAV, converted to 16 kHz mono 16-bit) and
handed to the plugin's `execute(AudioData, language)`; one call at a time, since plugins are not
written to be called from several threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import sys
import threading
from typing import Any
from urllib.parse import urlsplit

from voxpop.provider.engines import UNIT_10S_AUDIO, EngineUnavailableError, Prepared
from voxpop.provider.engines.errors import UnsupportedLanguageError
from voxpop.provider.engines.request import language_tag
from voxpop.provider.engines.stt import MAX_AUDIO_BYTES, SAMPLE_RATE, billed_units, decode_audio

PREFIX = "ovos:"
DEFAULT_START_TIMEOUT = 60.0  # seconds; loading a local model is well under this


class NetworkAtStartError(PermissionError):
    """Raised inside a plugin that reaches for the network while it is being constructed."""


class _StartGuard:
    """While `active`, refuses (and records) every connection or lookup beyond this machine."""

    def __init__(self) -> None:
        self.active = False
        self.attempts: list[str] = []
        self._installed = False
        self._lock = threading.Lock()

    def install(self) -> None:
        with self._lock:
            if not self._installed:
                sys.addaudithook(self._hook)  # cannot be removed: it checks `active` first
                self._installed = True

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.active:
            return
        target: str | None = None
        if event == "socket.connect" and isinstance(args[1], tuple) and args[1]:
            target = f"{args[1][0]}:{args[1][1]}" if not _is_local(str(args[1][0])) else None
        elif event == "socket.getaddrinfo" and args[0] is not None:
            host = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
            target = host if not _is_local(host) else None
        elif event == "urllib.Request":
            host = urlsplit(str(args[0])).hostname or ""
            target = str(args[0]) if not _is_local(host) else None
        if target is not None:
            self.attempts.append(target)
            raise NetworkAtStartError(f"voxpop: no network while a plugin starts ({target})")


def _is_local(host: str) -> bool:
    if host in ("localhost", "", "0.0.0.0"):
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return host.endswith(".localhost")


_GUARD = _StartGuard()


def construct_offline(factory: Any, config: dict[str, Any], name: str, timeout: float) -> Any:
    """`factory(config)` with the network shut and a deadline. Raises ValueError if it reached
    for the network, did not finish within `timeout` seconds, or failed."""
    _GUARD.install()
    result: dict[str, Any] = {}

    def build() -> None:
        try:
            result["plugin"] = factory(config)
        except BaseException as exc:  # reported below, with what the plugin attempted
            result["error"] = exc

    _GUARD.attempts.clear()
    _GUARD.active = True
    try:
        worker = threading.Thread(target=build, name=f"ovos-start-{name}", daemon=True)
        worker.start()
        worker.join(timeout)
    finally:
        _GUARD.active = False
    attempts = list(dict.fromkeys(_GUARD.attempts))
    # Verify the plugin started offline, in time, and without an error
    if attempts:
        raise ValueError(
            f"the OVOS plugin {name!r} tried to reach the network while starting "
            f"({', '.join(attempts[:3])}): plugins that download at start are refused; "
            "install its model beforehand and point its config at it"
        )
    if worker.is_alive():
        raise ValueError(
            f"the OVOS plugin {name!r} did not start within {timeout:g} s "
            "(a plugin waiting to download its model hangs here): refused"
        )
    if "error" in result:
        exc = result["error"]
        raise ValueError(f"the OVOS plugin {name!r} failed to start: {exc!r}") from None
    return result["plugin"]


def load_plugin_class(name: str) -> Any:
    """The STT plugin class registered as `name`. Raises ValueError (no ovos-plugin-manager, no
    such plugin)."""
    try:
        from ovos_plugin_manager.stt import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
            find_stt_plugins,
            load_stt_plugin,
        )
    except ImportError:
        raise ValueError(
            "ovos engines need ovos-plugin-manager: pip install 'voxpop[ovos]'"
        ) from None
    plugin_class = load_stt_plugin(name)
    if plugin_class is None:
        known = ", ".join(sorted(find_stt_plugins())) or "none installed"
        raise ValueError(f"no OVOS STT plugin called {name!r} (installed: {known})")
    return plugin_class


class OvosSttEngine:
    kind = "stt"
    unit = UNIT_10S_AUDIO
    max_body = MAX_AUDIO_BYTES

    def __init__(self, name: str, plugin: Any, language: str) -> None:
        self.name = name
        self.language = language
        self._plugin = plugin
        self._lock = threading.Lock()
        self._languages = {language_tag(language)[0]}
        try:
            available = plugin.available_languages or set()
            self._languages |= {language_tag(str(lang))[0] for lang in available}
        except Exception:  # older plugins lack it; the configured language is then the one
            pass

    @classmethod
    def load(
        cls,
        name: str,
        *,
        language: str = "en-us",
        config: dict[str, Any] | None = None,
        start_timeout: float = DEFAULT_START_TIMEOUT,
        plugin_class: Any = None,
    ) -> OvosSttEngine:
        """Load and start the plugin `name` offline (`plugin_class` given: that class instead
        of the one registered). Raises ValueError."""
        factory = plugin_class if plugin_class is not None else load_plugin_class(name)
        plugin_config = {"lang": language, **(config or {})}
        plugin = construct_offline(factory, plugin_config, name, start_timeout)
        return cls(name, plugin, language)

    @classmethod
    def from_options(cls, engine_name: str, options: dict[str, str]) -> OvosSttEngine:
        """From `ovos:<plugin>` and the provider's engine options: lang, config (the plugin's
        JSON config), start_timeout. Raises ValueError."""
        name = engine_name.removeprefix(PREFIX)
        if not name:
            raise ValueError("name the plugin: --engine ovos:<plugin-name>")
        config: dict[str, Any] = {}
        if options.get("config"):
            try:
                config = json.loads(options["config"])
            except ValueError:
                raise ValueError("the ovos engine's config option must be a JSON object") from None
            if not isinstance(config, dict):
                raise ValueError("the ovos engine's config option must be a JSON object")
        try:
            start_timeout = float(options.get("start_timeout", DEFAULT_START_TIMEOUT))
        except ValueError:
            raise ValueError("start_timeout must be seconds") from None
        return cls.load(
            name,
            language=options.get("lang", "en-us"),
            config=config,
            start_timeout=start_timeout,
        )

    def prepare(self, body: bytes, content_type: str, params: dict[str, str]) -> Prepared:
        # Verify the plugin speaks the language asked for, before decoding anything
        lang = params.get("lang", self.language)
        if language_tag(lang)[0] not in self._languages:
            raise UnsupportedLanguageError(
                f"the {self.name} plugin transcribes {', '.join(sorted(self._languages))} only"
            )
        pcm, frames, rate = decode_audio(body)
        return Prepared(billed_units(frames, rate), (pcm, frames * 1000 // rate, lang))

    def transcribe(self, pcm: bytes, lang: str) -> str:
        from ovos_plugin_manager.utils.audio import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
            AudioData,
        )

        with self._lock:
            text = self._plugin.execute(AudioData(pcm, SAMPLE_RATE, 2), lang)
        return text if isinstance(text, str) else ""

    async def run(self, prepared: Prepared) -> bytes:
        pcm, duration_ms, lang = prepared.payload
        loop = asyncio.get_running_loop()
        try:
            text = await loop.run_in_executor(None, self.transcribe, pcm, lang)
        except Exception as exc:  # a plugin's failure is the engine's, never the gateway's
            raise EngineUnavailableError(
                f"the {self.name} plugin failed: {exc.__class__.__name__}"
            ) from None
        answer = {
            "text": text,
            "language": lang,
            "engine": f"{PREFIX}{self.name}",
            "duration_ms": duration_ms,
        }
        return json.dumps(answer, separators=(",", ":")).encode()

    def close(self) -> None:
        shutdown = getattr(self._plugin, "shutdown", None)
        if callable(shutdown):
            with contextlib.suppress(Exception):  # closing must not fail the provider's stop
                shutdown()
