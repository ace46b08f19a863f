"""Wake-word uploads: multipart sent as `application/json` (the boundary read from the body),
kept only with the owner's opt-in, encrypted at once into the agent's store, size-limited."""

from __future__ import annotations

import io
import json
import wave
from pathlib import Path

import httpx
import pytest

from tests.agent.ovos_env import run_ovos, write_identity
from tests.support.agent_app import bearer, local_agent
from voxpop.agent.config import OptIns
from voxpop.agent.store import STORE_FILE
from voxpop.agent.uploads import (
    UPLOADS_NS,
    UploadError,
    load_samples,
    read_sample,
    split_multipart,
)
from voxpop.crypto.keys import PrivateKey

OWNER = PrivateKey(bytes([61]) * 32).public_key.address
AGENT_KEY = PrivateKey(bytes([62]) * 32)
CANARY = b"canary-7c1e0f-wake-word"


def wav_bytes(frames: int = 1600, marker: bytes = CANARY) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(marker + b"\x00" * (frames * 2 - len(marker)))
    return buf.getvalue()


def meta() -> dict[str, str]:
    return {"wake_word": "hey mycroft", "engine": "precise", "timestamp": "1", "model": "m1"}


def files(audio: bytes, metadata: dict[str, str] | bytes) -> dict[str, tuple[str, bytes]]:
    raw = metadata if isinstance(metadata, bytes) else json.dumps(metadata).encode()
    return {"audio": ("audio", audio), "metadata": ("metadata", raw)}


# What ovos-backend-client and mycroft-core send: multipart, labelled application/json
AS_CLIENTS_SEND = {"Content-Type": "application/json"}


def test_wake_word_upload_is_kept_encrypted_when_opted_in(tmp_path: Path) -> None:
    with local_agent(
        tmp_path / "a", owner=OWNER, agent_key=AGENT_KEY, opt_in=OptIns(uploads=True)
    ) as (agent, http, login):
        audio = wav_bytes()
        resp = http.post(
            f"/v1/device/{login.uuid}/wake-word-file",
            files=files(audio, meta()),
            headers={**bearer(login), **AS_CLIENTS_SEND},
        )
        assert resp.status_code == 200, resp.text
        assert resp.json()["saved"] is True
        [sample] = load_samples(agent.store, login.uuid)
        assert sample.audio == audio and sample.metadata == meta() and sample.kind == "wake-word"
        # Encrypted at rest: neither the audio nor its metadata is in the store's bytes
        home = agent.config.home
        raw = b"".join(p.read_bytes() for p in home.iterdir() if p.name.startswith(STORE_FILE))
        assert CANARY not in raw and b"hey mycroft" not in raw


def test_precise_upload_outside_v1(tmp_path: Path) -> None:
    with local_agent(
        tmp_path / "a", owner=OWNER, agent_key=AGENT_KEY, opt_in=OptIns(uploads=True)
    ) as (agent, http, login):
        resp = http.post(
            "/precise/upload",
            files=files(wav_bytes(), {"name": "hey-mycroft", "model": "m"}),
            headers={**bearer(login), **AS_CLIENTS_SEND},
        )
        assert resp.status_code == 200, resp.text
        assert [s.kind for s in load_samples(agent.store)] == ["precise"]


def test_invalid_upload_without_the_opt_in_stores_nothing(tmp_path: Path) -> None:
    with local_agent(tmp_path / "a", owner=OWNER, agent_key=AGENT_KEY) as (agent, http, login):
        resp = http.post(
            f"/v1/device/{login.uuid}/wake-word-file",
            files=files(wav_bytes(), meta()),
            headers={**bearer(login), **AS_CLIENTS_SEND},
        )
        assert resp.status_code == 403 and resp.json()["error"] == "upload_not_opted_in"
        assert agent.store.items(UPLOADS_NS) == []


def test_invalid_uploads_are_refused(tmp_path: Path) -> None:
    with local_agent(
        tmp_path / "a", owner=OWNER, agent_key=AGENT_KEY, opt_in=OptIns(uploads=True)
    ) as (agent, http, login):
        url = f"/v1/device/{login.uuid}/wake-word-file"
        h = {**bearer(login), **AS_CLIENTS_SEND}
        cases: list[tuple[dict[str, object], int, str]] = [
            ({"content": b'{"not": "multipart"}'}, 400, "bad_upload"),
            ({"files": files(b"not a wav", meta())}, 400, "bad_upload"),
            ({"files": files(wav_bytes(), b"{broken")}, 400, "bad_upload"),
            ({"files": {"metadata": ("metadata", b"{}")}}, 400, "bad_upload"),
            ({"files": files(wav_bytes(), b"x" * 5000)}, 413, "upload_too_large"),
        ]
        for kwargs, status, code in cases:
            resp = http.post(url, headers=h, **kwargs)  # type: ignore[arg-type]
            assert resp.status_code == status, (kwargs.keys(), resp.text)
            assert resp.json()["error"] == code
        # Over the agent's upload limit: refused before it is read
        big = wav_bytes(frames=agent.config.max_upload_bytes // 2 + 10)
        resp = http.post(url, headers=h, files=files(big, meta()))
        assert resp.status_code == 413
        # Another device's path, or no token: plain 401
        other = http.post(
            "/v1/device/00000000-0000-0000-0000-000000000000/wake-word-file",
            headers=h,
            files=files(wav_bytes(), meta()),
        )
        assert other.status_code == 401 and other.headers["content-type"].startswith("text/plain")
        anon = httpx.post(str(http.base_url) + "/precise/upload", files=files(wav_bytes(), meta()))
        assert anon.status_code == 401
        assert agent.store.items(UPLOADS_NS) == []


def test_split_multipart_reads_the_boundary_from_the_body() -> None:
    body = (
        b"--abc123\r\n"
        b'Content-Disposition: form-data; name="audio"; filename="audio"\r\n\r\n'
        b"RIFF\r\n--abc12 not the end\r\n"
        b"--abc123\r\n"
        b'Content-Disposition: form-data; name="metadata"\r\n\r\n{"a": 1}\r\n'
        b"--abc123--\r\n"
    )
    parts = split_multipart(body)
    assert parts == {"audio": b"RIFF\r\n--abc12 not the end", "metadata": b'{"a": 1}'}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"no boundary here",
        b'--abc\r\nContent-Disposition: form-data; name="audio"\r\n\r\nRIFF',  # truncated
        b"--abc\r\nno separator--abc--",
        b"--abc\r\n\r\nnameless\r\n--abc--",
        b'--abc\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n'
        b'--abc\r\nContent-Disposition: form-data; name="a"\r\n\r\n2\r\n--abc--',
    ],
)
def test_invalid_multipart_bodies(body: bytes) -> None:
    with pytest.raises(UploadError):
        read_sample(body, device="d", kind="wake-word", now=0, max_bytes=1 << 20)


def test_ovos_backend_client_dataset_api_uploads_a_wake_word(tmp_path: Path) -> None:
    """The real ovos-backend-client 1.0.1 (its own venv): DatasetApi.upload_wake_word sends
    multipart labelled application/json; the agent keeps it (opted in)."""
    with local_agent(
        tmp_path / "a", owner=OWNER, agent_key=AGENT_KEY, opt_in=OptIns(uploads=True)
    ) as (agent, http, login):
        device_home = tmp_path / "device"
        write_identity(device_home, login.to_json())
        wav = tmp_path / "ww.wav"
        wav.write_bytes(wav_bytes())
        result = run_ovos(
            device_home,
            str(http.base_url).rstrip("/"),
            f"""
            from ovos_backend_client.api import DatasetApi
            class Audio:
                def get_wav_data(self):
                    return open({str(wav)!r}, "rb").read()
            params = {{"name": "hey mycroft", "engine_name": "precise", "model": "m1"}}
            r = DatasetApi(URL).upload_wake_word(Audio(), params)
            emit([r.status_code, r.json()])
            """,
        )
        assert result[0] == 200 and result[1]["saved"] is True
        [sample] = load_samples(agent.store, login.uuid)
        assert sample.audio == wav.read_bytes()
        assert sample.metadata["wake_word"] == "hey mycroft" and sample.metadata["model"] == "m1"


def test_a_device_keeps_at_most_the_newest_samples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voxpop.agent import uploads
    from voxpop.agent.store import LocalStore

    monkeypatch.setattr(uploads, "MAX_SAMPLES_PER_DEVICE", 3)
    store = LocalStore.open(tmp_path, AGENT_KEY)
    try:
        for n in range(5):
            audio = wav_bytes(marker=f"sample-{n}".encode())
            uploads.save_sample(store, uploads.Sample("dev-a", "wake-word", 1000 + n, {}, audio))
        uploads.save_sample(store, uploads.Sample("dev-b", "wake-word", 1, {}, wav_bytes()))
        kept = load_samples(store, "dev-a")
        assert [s.received_at for s in kept] == [1002, 1003, 1004]
        assert [s.audio[44:52] for s in kept] == [b"sample-2", b"sample-3", b"sample-4"]
        assert len(load_samples(store, "dev-b")) == 1
        assert len(store.items(UPLOADS_NS)) == 4
    finally:
        store.close()
