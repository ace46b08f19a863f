"""Small local servers that speak the OpenWeatherMap and Wolfram Alpha APIs, for tests and the
devnet (these machines have no internet; a real provider points its engine at the real APIs).

Each is a real HTTP server on loopback with a fixed little world: a few cities' weather and a
few questions' answers, the API key it expects, and a `mode` a test can switch to make it fail
the ways upstreams fail:

    ok       answers as the API does
    slow     answers after `delay` seconds (past the engine's timeout)
    garbage  answers 200 with an HTML page (not the API's answer)
    wrong    answers 200 with JSON or text of the wrong shape
    error    answers HTTP 500
    trickle  answers at once, then sends the body one byte every `delay` / 10 seconds

    python -m voxpop.provider.engines.local_upstreams --port 8790 --key devkey
serves both APIs on one port (OWM under /data/2.5, Wolfram under /v1 and /v2) until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

OWM_PREFIX = "/data/2.5"
CITIES = {"london": (51.5085, -0.1257), "paris": (48.8534, 2.3488), "berlin": (52.5244, 13.4105)}
DESCRIPTIONS = {"en": "light rain", "de": "leichter Regen", "fr": "légère pluie"}
ANSWERS = {
    "what is the capital of france": ("The capital of France is Paris", "Paris"),
    "how far away is the moon": (
        "The Moon is about 384,400 kilometers from Earth",
        "about 384400 kilometers",
    ),
}


def weather_at(lat: float, lon: float) -> dict[str, Any]:
    """A made-up but deterministic weather at a point: the temperature follows the latitude."""
    temp = round(30.0 - abs(lat) * 0.4, 1)
    return {"temp": temp, "feels_like": round(temp - 1.5, 1), "humidity": 80, "pressure": 1012}


@dataclass
class UpstreamState:
    key: str
    mode: str = "ok"
    delay: float = 10.0
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the key is in the URL
        return None

    def do_GET(self) -> None:
        state = self.server.state
        parts = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        state.requests.append((parts.path, params))
        if state.mode == "slow":
            state.stopping.wait(state.delay)
        if state.mode == "error":
            return self._send(500, b"internal error", "text/plain")
        if state.mode == "trickle":
            return self._trickle(b'{"current": {"temp": 1}, "padding": "' + b"x" * 100 + b'"}')
        if params.get("appid") != state.key:
            return self._send(401, b'{"cod":401,"message":"Invalid API key"}', "application/json")
        if state.mode == "garbage":
            return self._send(200, b"<html>upstream maintenance</html>", "application/json")
        if state.mode == "wrong":
            if parts.path.startswith("/v1/"):
                return self._send(200, b"line one\nline two", "text/plain")
            return self._json(200, {"cod": 200, "message": "", "data": [1, 2, 3]})
        path = parts.path
        if path.startswith(OWM_PREFIX + "/"):
            return self._weather(path.removeprefix(OWM_PREFIX + "/"), params)
        if path in ("/v1/spoken", "/v1/result", "/v2/query"):
            return self._knowledge(path, params)
        self._send(404, b'{"cod":"404","message":"not found"}', "application/json")

    def _weather(self, endpoint: str, params: dict[str, str]) -> None:
        if "q" in params:
            city = CITIES.get(params["q"].split(",")[0].strip().lower())
            if city is None:
                return self._json(404, {"cod": "404", "message": "city not found"})
            lat, lon = city
        else:
            try:
                lat, lon = float(params["lat"]), float(params["lon"])
            except (KeyError, ValueError):
                return self._json(400, {"cod": "400", "message": "wrong latitude"})
        now = 1_800_000_000
        description = DESCRIPTIONS.get(params.get("lang", "en"), DESCRIPTIONS["en"])
        condition = {"id": 500, "main": "Rain", "description": description, "icon": "10d"}
        reading = weather_at(lat, lon)
        if endpoint == "onecall":
            hours = [{"dt": now + 3600 * i, **reading, "weather": [condition]} for i in range(48)]
            days = [
                {
                    "dt": now + 86400 * i,
                    "temp": {"min": reading["temp"] - 4, "max": reading["temp"] + 3},
                    "weather": [condition],
                }
                for i in range(8)
            ]
            doc: dict[str, Any] = {
                "lat": lat,
                "lon": lon,
                "timezone": "UTC",
                "timezone_offset": 0,
                "current": {"dt": now, **reading, "weather": [condition]},
                "hourly": hours,
                "daily": days,
            }
        elif endpoint == "weather":
            doc = {
                "coord": {"lat": lat, "lon": lon},
                "weather": [condition],
                "main": {k: reading[k] for k in ("temp", "feels_like", "humidity", "pressure")},
                "dt": now,
                "name": params.get("q", "").split(",")[0].title(),
                "cod": 200,
            }
        elif endpoint in ("forecast", "forecast/daily"):
            step = 10800 if endpoint == "forecast" else 86400
            doc = {
                "cod": "200",
                "cnt": 8,
                "list": [
                    {"dt": now + step * i, "main": reading, "weather": [condition]}
                    for i in range(8)
                ],
                "city": {"coord": {"lat": lat, "lon": lon}},
            }
        else:
            return self._json(404, {"cod": "404", "message": "not found"})
        self._json(200, doc)

    def _knowledge(self, path: str, params: dict[str, str]) -> None:
        query = (params.get("i") or params.get("input") or "").strip().lower().rstrip("?")
        answer = ANSWERS.get(query)
        if path == "/v2/query":
            if answer is None:
                return self._json(200, {"queryresult": {"success": False, "error": False}})
            pods = [
                {"title": "Input interpretation", "subpods": [{"plaintext": query}]},
                {"title": "Result", "primary": True, "subpods": [{"plaintext": answer[1]}]},
            ]
            return self._json(200, {"queryresult": {"success": True, "numpods": 2, "pods": pods}})
        if answer is None:
            return self._send(501, b"Wolfram|Alpha did not understand your input", "text/plain")
        text = answer[0] if path == "/v1/spoken" else answer[1]
        self._send(200, text.encode(), "text/plain;charset=utf-8")

    def _trickle(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        for byte in body:
            if self.server.state.stopping.wait(self.server.state.delay / 10):
                return
            self.wfile.write(bytes([byte]))
            self.wfile.flush()

    def _json(self, status: int, doc: Any) -> None:
        self._send(status, json.dumps(doc).encode(), "application/json; charset=utf-8")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: UpstreamState


class LocalUpstream:
    """Both APIs on one loopback port, served from a background thread.

    with LocalUpstream.start(key="k") as up:
        up.weather_url   # the openweathermap engine's upstream
        up.knowledge_url # the wolframalpha engine's upstream
        up.state.mode = "slow"
    """

    def __init__(self, server: _Server, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self.state = server.state

    @classmethod
    def start(cls, *, key: str, host: str = "127.0.0.1", port: int = 0) -> LocalUpstream:
        server = _Server((host, port), _Handler)
        server.state = UpstreamState(key)
        thread = threading.Thread(target=server.serve_forever, name="local-upstream", daemon=True)
        thread.start()
        return cls(server, thread)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def weather_url(self) -> str:
        return self.url + OWM_PREFIX

    @property
    def knowledge_url(self) -> str:
        return self.url

    def stop(self) -> None:
        self.state.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> LocalUpstream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8790)
    parser.add_argument("--key", required=True, help="the API key the servers accept")
    args = parser.parse_args()
    upstream = LocalUpstream.start(key=args.key, host=args.host, port=args.port)
    print(f"weather {upstream.weather_url}  knowledge {upstream.knowledge_url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        upstream.stop()


if __name__ == "__main__":
    main()
