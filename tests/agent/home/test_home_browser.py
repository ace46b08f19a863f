"""The home in a real browser (Debian's Chromium) against a real node and agent, with a real
device (ovos-backend-client in its own venv): the owner unlocks the key with the passphrase,
pairs the device by typing the code it speaks, and changes a device setting and a skill setting
in forms generated from the skill's settingsMeta; the device's own answers change. Then renames
it with JavaScript off (plain forms, a self-refreshing tx page) and removes it. Each page is
screenshot into docs/screenshots/."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.agent.home.live import LiveHome
from tests.agent.ovos_env import result_of, spawn_ovos
from tests.support.browser import screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.slow

SKILL = "skill-weather-home.tests"
WEATHER_META = {
    "sections": [
        {
            "name": "Forecast",
            "fields": [
                {"type": "label", "label": "How the weather skill answers you."},
                {
                    "name": "units",
                    "type": "select",
                    "label": "Units",
                    "options": "Metric|metric;Imperial|imperial",
                    "value": "metric",
                },
                {"name": "hourly", "type": "checkbox", "label": "Hourly forecast", "value": "true"},
                {"name": "days", "type": "number", "label": "Days ahead", "value": "3"},
            ],
        },
        {
            "name": "Account",
            "fields": [{"name": "api_key", "type": "password", "label": "API key", "value": ""}],
        },
    ]
}

DEVICE = """
import threading, time, os
from ovos_backend_client.pairing import PairingManager
from ovos_backend_client.api import DeviceApi
from ovos_backend_client.backends import BackendType
PairingManager.poll_frequency = 0.5
done = threading.Event()
def spoken(code):
    open(CODE_FILE, "w").write(code)
manager = PairingManager(api_url=URL, version="v1", backend_type=BackendType.PERSONAL,
                         code_callback=spoken, success_callback=done.set)
manager.kickoff_pairing()
assert done.wait(120), "never paired"
manager.shutdown()
api = DeviceApi(URL, backend_type=BackendType.PERSONAL)
api.update_version(core_version="0.0.9", platform="picroft", enclosure_version="1.2")
api.upload_skills_data({"blacklist": [], "skills": [
    {"name": SKILL, "origin": "non-msm", "installation": "installed", "status": "active",
     "beta": False, "installed": 0, "updated": 0, "skill_gid": "@|" + SKILL}]})
gid = "@" + api.uuid + "|" + SKILL
api.upload_skill_metadata({"skill_gid": gid, "display_name": "Weather",
                           "skillMetadata": META})
open(READY_FILE, "w").write(api.uuid)
before = api.get_settings()
deadline = time.time() + 150
while time.time() < deadline:
    settings = api.get_settings()
    skills = api.get_skill_settings()
    if settings.get("systemUnit") == "imperial" and skills.get(gid, {}).get("units") == "imperial":
        break
    time.sleep(0.5)
emit({"before": before, "after": settings, "skill": skills.get(gid), "uuid": api.uuid})
"""


def wait_file(path: Path, device: object, timeout: float = 90.0) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text().strip():
        assert getattr(device, "poll")() is None, "the device stopped"  # noqa: B009
        assert time.monotonic() < deadline, f"the device never wrote {path.name}"
        time.sleep(0.2)
    return path.read_text().strip()


def unlock(page: Page, live: LiveHome, next_page: str) -> None:
    page.goto(f"{live.url}/unlock?next={next_page}")
    page.fill("#passphrase", live.passphrase)
    page.click("main button:has-text('Unlock')")
    page.wait_for_selector("header >> text=Unlocked")


def test_pair_then_change_settings_in_forms(
    live_home: LiveHome, browser: Browser, page: Page, tmp_path: Path
) -> None:
    code_file, ready_file = tmp_path / "code.txt", tmp_path / "ready.txt"
    prelude = (
        f"CODE_FILE = {str(code_file)!r}\nREADY_FILE = {str(ready_file)!r}\n"
        f"SKILL = {SKILL!r}\nMETA = {json.dumps(WEATHER_META)}\n"
    )
    device = spawn_ovos(tmp_path / "device", live_home.url, prelude + DEVICE)
    try:
        page.goto(live_home.url + "/devices")
        code = wait_file(code_file, device)

        # A code no device spoke: said in plain words, and nothing paired
        wrong = ("A" if code[0] != "A" else "B") + code[1:]
        page.fill("#code", wrong)
        page.click("button:has-text('Pair')")
        page.wait_for_selector("#result .tx-error")
        assert "No device is waiting with that code" in page.inner_text("#result")
        assert "No devices yet" in page.inner_text("#device-list")

        # Locked: the page shows the one command that signs the claim where the key lives
        page.fill("#code", code)
        page.click("button:has-text('Pair')")
        page.wait_for_selector("#result .tx-command")
        command = page.inner_text("#result pre")
        assert command.startswith(f"voxpop device claim {code} --node {live_home.node.url}")
        assert "No devices yet" in page.inner_text("#device-list")  # nothing was signed
        screenshot(page, "home-command")

        # Unlocked with the passphrase: signed here. The code typed as a person may type it
        unlock(page, live_home, "/devices")
        page.fill("#code", f"{code[:3]} {code[3:]}".lower())
        page.fill("#pair-name", "Kitchen")
        page.click("button:has-text('Pair')")
        page.wait_for_selector("#result .tx-committed")
        assert "Pair the device: done" in page.inner_text("#result")
        page.wait_for_selector("#device-list >> text=Kitchen")
        # Live updates: the node's new block reached the page over the home's event stream
        page.wait_for_selector("footer .live >> text=block")
        wait_file(ready_file, device)
        page.reload()
        page.wait_for_selector("#device-list >> text=picroft")
        screenshot(page, "home-devices")

        # Settings: the device's units, and the skill's form from its settingsMeta
        page.goto(live_home.url + "/settings")
        skill_form = page.locator("form[action='/settings/skill/" + SKILL + "']")
        deadline = time.monotonic() + 60
        while skill_form.locator("select[name=units]").count() == 0:
            # The device's metadata reaches the chain through the agent's next write
            assert time.monotonic() < deadline, page.inner_text("#skills")
            time.sleep(0.5)
            page.reload()
        page.select_option("#device-systemUnit", "imperial")
        page.click("button:has-text('Save device settings')")
        page.wait_for_selector("#result .tx-committed")
        skill_form.locator("select[name=units]").select_option("imperial")
        skill_form.locator("button").click()
        page.wait_for_selector("#result .tx-committed >> text=skill")
        got = result_of(device, timeout=180)

        # A value that does not fit is refused in words (an error answer, swapped in by htmx)
        page.click("summary:has-text('Type the location in yourself')")
        page.fill("#loc-city", "Nowhere")
        page.fill("#loc-latitude", "91")
        page.fill("#loc-longitude", "0")
        page.click("button:has-text('Save location')")
        page.wait_for_selector("#result .tx-error >> text=latitude")
        assert "One of the values is not valid" in page.inner_text("#result")

        # The location: search a place in the offline place database, use it
        page.fill("#place-query", "Lisbon")
        page.click("button:has-text('Search')")
        page.click("ul.places li:first-child button:has-text('Use this place')")
        page.wait_for_selector("#result .tx-committed >> text=location")
        page.goto(live_home.url + "/settings?q=Lisbon")
        assert "Now: Lisbon, Lisbon, Portugal (Europe/Lisbon)" in page.inner_text("#location")
        screenshot(page, "home-settings")
    finally:
        if device.poll() is None:
            device.kill()
            device.communicate()
    assert got["before"]["systemUnit"] == "metric"
    assert got["after"]["systemUnit"] == "imperial"
    assert got["skill"]["units"] == "imperial" and got["skill"]["days"] == 3

    # Without JavaScript every form still works: rename by a plain form post, then the tx's own
    # page refreshes itself until the tx is committed
    plain = browser.new_context(java_script_enabled=False)
    try:
        no_js = plain.new_page()
        no_js.set_default_timeout(30_000)
        unlock(no_js, live_home, "/devices")
        no_js.fill("#device-list input[name=name]", "Living room")
        no_js.click("#device-list button:has-text('Rename')")
        no_js.wait_for_selector("#result .tx-submitted, #result .tx-committed")
        if no_js.locator("#result .tx-submitted").count():
            no_js.click("#result a:has-text('check now')")
            no_js.wait_for_selector(".tx-committed")
        no_js.goto(live_home.url + "/devices")
        assert "Living room" in no_js.inner_text("#device-list")
    finally:
        plain.close()

    # Remove (htmx, after the browser's confirmation), confirmed on chain
    page.goto(live_home.url + "/devices")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#device-list button:has-text('Remove')")
    page.wait_for_selector("#device-list >> text=No devices yet")
