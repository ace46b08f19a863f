"""OVOS STT plugins as stt engines: ovos-stt-plugin-pocketsphinx loaded through
ovos-plugin-manager transcribes espeak-ng speech; plugins that reach for the network or hang while
starting are refused with a message that says so; bad audio and languages are refused."""

from __future__ import annotations

import io
import shutil
import socket
import subprocess
import threading
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile  # type: ignore[import-untyped]

from voxpop.provider.engines import BadRequestError, TooLargeError, make_engine
from voxpop.provider.engines.errors import UnsupportedLanguageError
from voxpop.provider.engines.local_upstreams import LocalUpstream
from voxpop.provider.engines.ovos import OvosSttEngine, construct_offline

pytest.importorskip("ovos_plugin_manager")
from ovos_plugin_manager.templates.stt import STT  # type: ignore[import-untyped]

PLUGIN = "ovos-stt-plugin-pocketsphinx"
# The plugin (0.1.1) calls pocketsphinx's deprecated default_config(); a warning, not our error
pytestmark = pytest.mark.filterwarnings("ignore:default_config:DeprecationWarning")
needs_speech = pytest.mark.skipif(
    shutil.which("espeak-ng") is None or shutil.which("sox") is None,
    reason="espeak-ng and sox make the test speech (make test installs them)",
)


def speak(directory: Path, text: str, *sox_args: str) -> bytes:
    wav = directory / "speech.wav"
    out = directory / "speech.flac"
    subprocess.run(["espeak-ng", "-w", str(wav), text], check=True, capture_output=True)
    subprocess.run(["sox", str(wav), *sox_args, str(out)], check=True, capture_output=True)
    return out.read_bytes()


@pytest.fixture(scope="module")
def engine() -> OvosSttEngine:
    built = make_engine(f"ovos:{PLUGIN}", "stt", options={"lang": "en-us"})
    assert isinstance(built, OvosSttEngine)
    return built


def transcribe(engine: OvosSttEngine, body: bytes, lang: str = "en-us") -> dict[str, Any]:
    import asyncio
    import json

    prepared = engine.prepare(body, "audio/x-flac", {"lang": lang})
    doc: dict[str, Any] = json.loads(asyncio.run(engine.run(prepared)))
    return doc


@needs_speech
def test_plugin_transcribes(engine: OvosSttEngine, tmp_path: Path) -> None:
    # Open vocabulary on synthetic speech: the plugin's words, not exact (grammar mode is
    # pocketsphinx's own engine); "london" comes through
    doc = transcribe(engine, speak(tmp_path, "what is the weather in london", "-r", "16000"))
    assert "london" in doc["text"].split()
    assert doc["engine"] == f"ovos:{PLUGIN}" and doc["language"] == "en-us"
    assert 1000 < doc["duration_ms"] < 3000


@needs_speech
def test_plugin_transcribes_resampled_stereo(engine: OvosSttEngine, tmp_path: Path) -> None:
    # 44.1 kHz stereo, as a phone might send it: resampled with soxr to the same words
    mono16k = transcribe(engine, speak(tmp_path, "what is the weather in london", "-r", "16000"))
    stereo = transcribe(
        engine, speak(tmp_path, "what is the weather in london", "-r", "44100", "-c", "2")
    )
    assert stereo["text"] == mono16k["text"]


def test_invalid_audio(engine: OvosSttEngine) -> None:
    with pytest.raises(BadRequestError) as info:
        engine.prepare(b"RIFF....not audio", "audio/wav", {"lang": "en-us"})
    assert info.value.code == "bad_request"
    with pytest.raises(TooLargeError):
        engine.prepare(b"\0" * (engine.max_body + 1), "audio/wav", {"lang": "en-us"})
    silence = io.BytesIO()
    soundfile.write(silence, np.zeros(16_000 * 61, dtype=np.int16), 16_000, format="FLAC")
    with pytest.raises(TooLargeError):  # over 60 s
        engine.prepare(silence.getvalue(), "audio/x-flac", {"lang": "en-us"})


def test_invalid_unknown_language(engine: OvosSttEngine) -> None:
    with pytest.raises(UnsupportedLanguageError) as info:
        engine.prepare(b"", "audio/x-flac", {"lang": "fr-fr"})
    assert (info.value.status, info.value.code) == (400, "unsupported_language")


def test_unknown_plugin() -> None:
    with pytest.raises(ValueError, match=f"no OVOS STT plugin called 'nope'.*{PLUGIN}"):
        make_engine("ovos:nope", "stt")
    with pytest.raises(ValueError, match="name the plugin"):
        make_engine("ovos:", "stt")
    with pytest.raises(ValueError, match="serves only the stt kind"):
        make_engine(f"ovos:{PLUGIN}", "weather")


class DownloadingPlugin(STT):  # type: ignore[misc]
    """Fetches its model at start, and carries on without it when that fails (as many do)."""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__(config)
        try:
            urllib.request.urlopen("https://models.example.org/en-us.zip", timeout=2)
        except OSError:
            self.model = None

    def execute(self, audio: Any, language: str | None = None) -> str:
        return ""


class ConnectingPlugin(DownloadingPlugin):
    def __init__(self, config: dict[str, Any] | None = None) -> None:
        STT.__init__(self, config)
        try:
            socket.create_connection(("10.20.30.40", 443), timeout=2)
        except OSError:
            self.model = None


RELEASE = threading.Event()


class HangingPlugin(DownloadingPlugin):
    def __init__(self, config: dict[str, Any] | None = None) -> None:
        STT.__init__(self, config)
        RELEASE.wait(10)  # a download that never finishes


class LoopbackPlugin(DownloadingPlugin):
    """Talks to a server on this machine (a local model server): allowed."""

    url = ""

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        STT.__init__(self, config)
        with urllib.request.urlopen(self.url, timeout=5) as resp:
            self.model = resp.read()


@pytest.mark.parametrize(
    ("plugin", "seen"),
    [(DownloadingPlugin, "models.example.org"), (ConnectingPlugin, "10.20.30.40")],
)
def test_invalid_plugin_downloads_at_start(plugin: type, seen: str) -> None:
    with pytest.raises(ValueError, match="tried to reach the network while starting") as info:
        OvosSttEngine.load("downloader", plugin_class=plugin, start_timeout=10)
    assert seen in str(info.value)
    # The shut is only in force while a plugin starts
    with pytest.raises(OSError) as lookup:
        socket.getaddrinfo("models.example.invalid", 443)
    assert "no network while a plugin starts" not in str(lookup.value)


def test_invalid_plugin_hangs_at_start() -> None:
    try:
        with pytest.raises(ValueError, match=r"did not start within 0.5 s"):
            OvosSttEngine.load("hanger", plugin_class=HangingPlugin, start_timeout=0.5)
    finally:
        RELEASE.set()


def test_loopback_allowed_at_start() -> None:
    with LocalUpstream.start(key="k") as local:
        LoopbackPlugin.url = f"{local.weather_url}/weather?q=london&appid=k"
        engine = OvosSttEngine.load("local", plugin_class=LoopbackPlugin, start_timeout=10)
    assert engine.name == "local" and b"London" in engine._plugin.model


def test_plugin_error_at_start() -> None:
    def broken(config: dict[str, Any]) -> None:
        raise RuntimeError("model file missing")

    with pytest.raises(ValueError, match="failed to start: RuntimeError"):
        construct_offline(broken, {}, "broken", 5)


DISTRIBUTION = {
    "voxpop_test_downloader/__init__.py": (
        "import urllib.request\n"
        "from ovos_plugin_manager.templates.stt import STT\n\n"
        "class DownloaderSTT(STT):\n"
        "    def __init__(self, config=None):\n"
        "        super().__init__(config)\n"
        "        urllib.request.urlopen('https://huggingface.example/model.bin', timeout=2)\n\n"
        "    def execute(self, audio, language=None):\n"
        "        return ''\n"
    ),
    "voxpop_test_downloader-0.1.dist-info/METADATA": (
        "Metadata-Version: 2.1\nName: voxpop-test-downloader\nVersion: 0.1\n"
    ),
    "voxpop_test_downloader-0.1.dist-info/entry_points.txt": (
        "[opm.stt]\nvoxpop-test-downloader = voxpop_test_downloader:DownloaderSTT\n"
    ),
}


def test_invalid_installed_plugin_downloads_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A plugin installed as plugins are (an opm.stt entry point), found by name through
    # ovos-plugin-manager, refused because it downloads while starting
    for name, text in DISTRIBUTION.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValueError, match="tried to reach the network") as info:
        make_engine("ovos:voxpop-test-downloader", "stt")
    assert "huggingface.example" in str(info.value)
