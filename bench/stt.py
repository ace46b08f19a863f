"""Benchmark: speech to text on a spoken sentence, as a provider serves it.

espeak-ng speaks the sentence, sox makes it the 16 kHz mono FLAC a device sends; then the
pocketsphinx engine takes it the way the gateway does (prepare: decode FLAC, resample, bill; run:
recognize) in its two modes, many times each, after one warm-up call:

- grammar: a JSGF grammar of an assistant's common phrases (the exact words come back);
- open: the model's open vocabulary;

and, if ovos-plugin-manager and ovos-stt-plugin-pocketsphinx are installed, the same audio
through that OVOS plugin (printed, not on the last line).

The real-time factor is the open mode's p50 time over the sentence's duration (the heavier mode:
under 1 keeps up with speech; the goal is 0.3 or less).

    python bench/stt.py [--runs N] [--sentence TEXT]

Last line: stt_rtf=<real-time factor> stt_grammar_ms_p50=<ms> stt_open_ms_p50=<ms>
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from voxpop.provider.engines.stt import PocketsphinxEngine

SENTENCE = "what is the weather in london"
GRAMMAR = """#JSGF V1.0;
grammar assistant;
public <request> = <weather> | <timer> | <misc>;
<place> = london | paris | berlin | lisbon | new york | tokyo;
<weather> = what is the weather [like] [in <place>] [today | tomorrow]
          | will it rain [in <place>] [today | tomorrow];
<number> = one | two | three | four | five | ten | fifteen | twenty | thirty;
<timer> = set a timer for <number> (minutes | seconds | hours) | cancel the timer;
<misc> = tell me a joke | what time is it | stop | turn (on | off) the lights | play some music;
"""


def speech_flac(text: str, directory: Path) -> bytes:
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        sys.exit("bench/stt.py needs espeak-ng and sox (make system-deps)")
    wav, flac = directory / "speech.wav", directory / "speech.flac"
    subprocess.run(["espeak-ng", "-w", str(wav), text], check=True, capture_output=True)
    subprocess.run(["sox", str(wav), "-r", "16000", "-c", "1", str(flac)], check=True)
    return flac.read_bytes()


def measure(engine: Any, body: bytes, runs: int) -> tuple[list[float], str, int]:
    """Times (ms) of prepare + run, the words heard, and the audio's duration (ms)."""

    async def once() -> tuple[float, dict[str, Any]]:
        started = time.perf_counter()
        prepared = engine.prepare(body, "audio/x-flac", {"lang": "en-us"})
        answer = json.loads(await engine.run(prepared))
        return (time.perf_counter() - started) * 1000, answer

    async def loop() -> tuple[list[float], dict[str, Any]]:
        _, answer = await once()  # warm-up
        times = [(await once())[0] for _ in range(runs)]
        return times, answer

    times, answer = asyncio.run(loop())
    return times, answer["text"], int(answer["duration_ms"])


def main() -> None:
    parser = argparse.ArgumentParser(description="speech to text on a spoken sentence")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--sentence", default=SENTENCE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        body = speech_flac(args.sentence, Path(tmp))
    started = time.perf_counter()
    grammar_engine = PocketsphinxEngine(grammar=GRAMMAR)
    open_engine = PocketsphinxEngine()
    load_ms = (time.perf_counter() - started) * 500  # two engines: per engine
    grammar_times, grammar_text, duration_ms = measure(grammar_engine, body, args.runs)
    open_times, open_text, _ = measure(open_engine, body, args.runs)
    print(f"sentence: {args.sentence!r} ({duration_ms} ms of 16 kHz FLAC, {len(body)} bytes)")
    print(f"model load: {load_ms:.0f} ms per engine")
    print(f"grammar: {grammar_text!r}  p50 {statistics.median(grammar_times):.1f} ms")
    print(f"open:    {open_text!r}  p50 {statistics.median(open_times):.1f} ms")
    try:
        from voxpop.provider.engines.ovos import OvosSttEngine

        ovos = OvosSttEngine.load("ovos-stt-plugin-pocketsphinx")
        ovos_times, ovos_text, _ = measure(ovos, body, max(3, args.runs // 4))
        print(f"ovos:    {ovos_text!r}  p50 {statistics.median(ovos_times):.1f} ms")
    except (ImportError, ValueError) as exc:
        print(f"ovos: not measured ({exc})")
    rtf = statistics.median(open_times) / duration_ms
    grammar_p50 = statistics.median(grammar_times)
    open_p50 = statistics.median(open_times)
    print(f"stt_rtf={rtf:.3f} stt_grammar_ms_p50={grammar_p50:.1f} stt_open_ms_p50={open_p50:.1f}")


if __name__ == "__main__":
    main()
