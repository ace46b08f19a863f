"""The owner's CLI against a real solo node (issue 11): an agent asks to pair a device and the
owner claims it by the code the device speaks; the owner sets settings, location and skill
settings, which a second agent of the same owner reads back; the owner removes the device and,
after removing the first agent, rotates the settings key: the removed agent cannot read what is
written after. Bad input is refused with codes and changes nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.support.agents import Agent
from voxpop.chain.modules.devices.messages import MsgClaimDevice, MsgUpdateDevice
from voxpop.cli.keys import BACKEND_ENV, PASSPHRASE_ENV
from voxpop.cli.main import app
from voxpop.cli.owner import OWNER_KEY_ENV
from voxpop.client import VoxClient, VoxClientError
from voxpop.client.devices import DeviceInfo, device_settings_name
from voxpop.client.testing import LocalNode
from voxpop.crypto import Keyring, encode_address
from voxpop.crypto.keys import PrivateKey

pytestmark = pytest.mark.slow

SEEDS = {"owner": 71, "kitchen": 72, "office": 73, "stranger": 74}
FUNDS = 1_000_000_000_000
KITCHEN = DeviceInfo("Kitchen speaker", "mark2", {"core": "0.3.1", "enclosure": "2.0"})


@dataclass
class World:
    node: LocalNode
    client: VoxClient
    keys: dict[str, PrivateKey]
    kitchen: Agent  # the first agent: removed later
    office: Agent  # the second agent of the same owner
    first_rotation: Any = None  # what `voxpop settings rotate` answered at the start

    @property
    def owner(self) -> bytes:
        return self.keys["owner"].public_key.address


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("device-cli") / "node"
    keyring = Keyring(home / "keyring", "test")
    infos = {name: keyring.import_seed(name, bytes([n]) * 32) for name, n in SEEDS.items()}
    keys = {name: PrivateKey(bytes([n]) * 32) for name, n in SEEDS.items()}
    funds = {info.address: FUNDS for info in infos.values()}
    with LocalNode.start(home, funds=funds) as node, VoxClient(node.url) as client:
        owner = keys["owner"]
        for name in ("owner", "kitchen", "office"):
            assert client.publish_keys(keys[name]).code == 0
        kitchen = Agent(client, keys["kitchen"], owner.public_key.address)
        office = Agent(client, keys["office"], owner.public_key.address)
        world = World(node, client, keys, kitchen, office)
        # The owner authorizes both agents (authz grants, daily caps, a fee allowance)
        for name in ("kitchen", "office"):
            ok(world, "agent", "authorize", name)
        # The owner starts key epoch 1, wrapped to itself and every agent it grants settings/Put
        world.first_rotation = ok(world, "settings", "rotate")
        yield world


def run(world: World, *args: str, key: str = "owner") -> tuple[int, Any]:
    node = world.node
    options = ["--node", node.url, "--home", str(node.home), "--keyring-backend", "test"]
    env = {
        PASSPHRASE_ENV: None,
        BACKEND_ENV: None,
        OWNER_KEY_ENV: None,
        "VOXPOP_HOME": None,
        "VOXPOP_NODE": None,
    }
    argv = [*args, *options, "--key", key, "--output", "json"]
    result = CliRunner().invoke(app, argv, env=env, catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def ok(world: World, *args: str) -> Any:
    code, out = run(world, *args)
    assert code == 0, out
    return out


def refused(world: World, *args: str, key: str = "owner") -> str:
    code, out = run(world, *args, key=key)
    assert code != 0, out
    return str(out["error"]["code"])


def test_pair_set_read_from_a_second_agent_remove_rotate(world: World) -> None:
    owner = world.owner
    # Key epoch 1 went to the owner and both agents (the accounts it grants settings/Put)
    agents = {encode_address(a.address) for a in (world.kitchen, world.office)}
    assert set(world.first_rotation["recipients"]) == {encode_address(owner), *agents}

    # Pair: the kitchen agent asks, the device speaks the code, the owner claims it by the code
    code, device_id = world.kitchen.request_pairing(KITCHEN)
    out = ok(world, "device", "claim", code.lower())
    assert out["device_id"] == device_id.hex() and out["name"] == KITCHEN.name
    listed = ok(world, "device", "list")
    assert listed["verified"]
    [device] = listed["devices"]
    assert (device["device_id"], device["name"], device["platform"]) == (
        device_id.hex(),
        KITCHEN.name,
        "mark2",
    )
    assert device["versions"] == {"core": "0.3.1", "enclosure": "2.0"}
    # The same code again: that request is claimed, so there is nothing pending to match
    assert refused(world, "device", "claim", code) == "pairing_not_found"

    # Set: device settings, location, skill settings (shared, then per device)
    ok(world, "device", "settings", "set", "Kitchen speaker", "systemUnit=metric", "optIn=false")
    ok(world, "device", "settings", "set", device_id.hex()[:8], "timeFormat=full")
    got = ok(world, "device", "settings", "get", "Kitchen speaker")["settings"]
    assert got == {"systemUnit": "metric", "optIn": False, "timeFormat": "full"}
    ok(world, "device", "location", "set", "city=Lisbon", "timezone=Europe/Lisbon")
    assert ok(world, "device", "location", "get")["location"]["city"] == "Lisbon"
    skill = "skill-weather.openvoiceos"
    ok(world, "skill", "settings", "set", skill, "units=celsius")
    got = ok(world, "skill", "settings", "get", skill)
    assert (got["scope"], got["settings"]) == ("shared", {"units": "celsius"})
    ok(world, "skill", "settings", "set", skill, "units=kelvin", "--scope", "device",
       "--device", "Kitchen speaker")  # fmt: skip
    got = ok(world, "skill", "settings", "get", skill, "--device", "Kitchen speaker")
    assert (got["scope"], got["settings"]) == ("device", {"units": "kelvin"})

    # Read back from the second agent of the same owner, through its own key wrap
    office = world.office.flows
    assert office.device_settings(device_id) == {
        "systemUnit": "metric",
        "optIn": False,
        "timeFormat": "full",
    }
    assert office.location() == {"city": "Lisbon", "timezone": "Europe/Lisbon"}
    assert office.skill_settings(skill, device_id) == {"units": "kelvin"}
    assert [v.name for v in office.devices()] == [KITCHEN.name]
    # ... and through the CLI, with the office agent's key on the office agent's machine
    code_, got = run(world, "device", "settings", "get", "Kitchen speaker", "--owner", "owner",
                     key="office")  # fmt: skip
    assert code_ == 0 and got["settings"]["systemUnit"] == "metric", got

    # Rename, then remove: the device leaves the list, and its agent can no longer update it
    ok(world, "device", "rename", "Kitchen speaker", "Kitchen")
    assert [d["name"] for d in ok(world, "device", "list")["devices"]] == ["Kitchen"]
    ok(world, "device", "remove", "Kitchen")
    assert ok(world, "device", "list")["devices"] == []
    blob = world.kitchen.vault.seal_blob(device_id, KITCHEN.encode())
    assert world.kitchen.exec(MsgUpdateDevice(owner, device_id, blob)) == "device_removed"
    assert refused(world, "device", "settings", "get", "Kitchen") == "device_not_found"

    # Remove the kitchen agent: revoke its grants; its settings writes are refused at once
    ok(world, "agent", "revoke", "kitchen")
    write = world.kitchen.vault.put_msg("location", b'{"city":"Paris"}')
    assert world.kitchen.exec(write) == "no_authorization"

    # Rotate: the new key is wrapped to the owner and the office agent only
    out = ok(world, "settings", "rotate")
    assert set(out["recipients"]) == {encode_address(owner), encode_address(world.office.address)}
    ok(world, "device", "location", "set", "city=Porto")
    assert world.office.flows.location() == {"city": "Porto", "timezone": "Europe/Lisbon"}
    # The removed agent cannot read what is written after: it holds no wrap of the new key
    with pytest.raises(VoxClientError):
        world.kitchen.vault.read("location")
    code_, out = run(world, "device", "location", "get", "--owner", "owner", key="kitchen")
    assert code_ != 0 and out["error"]["code"] == "settings_no_key", out
    assert world.office.vault.read(device_settings_name(device_id)) is not None


def test_invalid_claims(world: World) -> None:
    owner, stranger = world.owner, world.keys["stranger"]
    code, device_id = world.office.request_pairing(DeviceInfo("Hall"))
    # A code the device did not speak, or that is no code at all
    wrong = "ZZZZZ9" if code != "ZZZZZ9" else "ZZZZZ8"
    assert refused(world, "device", "claim", wrong) == "pairing_not_found"
    assert refused(world, "device", "claim", "abc") == "invalid_pairing_code"
    # Another account has no such pending request, and the chain refuses its claim outright
    assert refused(world, "device", "claim", code, key="stranger") == "pairing_not_found"
    with pytest.raises(VoxClientError) as caught:
        world.client.execute(stranger, [MsgClaimDevice(stranger.public_key.address, device_id)])
    assert caught.value.code in ("not_device_owner", "pairing_not_found")
    # Nothing changed: the owner still claims it
    assert ok(world, "device", "claim", code)["device_id"] == device_id.hex()
    # A claim of an id already claimed is refused by the chain too
    result_code = _chain_error(world, MsgClaimDevice(owner, device_id))
    assert result_code in ("pairing_not_found", "pairing_id_used")
    assert refused(world, "device", "settings", "get", "no-such-device") == "device_not_found"
    assert refused(world, "device", "settings", "set", "Hall", "novalue") == "invalid_setting"


def test_inbox_read_and_delete(world: World) -> None:
    now = int(time.time())
    world.office.post("Reminder: buy milk", now)
    world.office.post("Your timer is done", now)
    out = ok(world, "inbox", "read")
    assert out["verified"]
    texts = [m["text"] for m in out["messages"]]
    assert texts[-2:] == ["Reminder: buy milk", "Your timer is done"]
    first = out["messages"][-2]["id"]
    ok(world, "inbox", "delete", str(first))
    texts = [m["text"] for m in ok(world, "inbox", "read")["messages"]]
    assert "Reminder: buy milk" not in texts and "Your timer is done" in texts


def _chain_error(world: World, msg: Any) -> str | None:
    from voxpop.chain.errors import error_name

    try:
        result = world.client.execute(world.keys["owner"], [msg])
    except VoxClientError as exc:
        return exc.code
    return error_name(result.code) if result.code else None


def test_invalid_settings_input(world: World) -> None:
    code, _ = world.office.request_pairing(DeviceInfo("Porch"))
    ok(world, "device", "claim", code)
    skill = "skill-timer.openvoiceos"
    assert refused(world, "skill", "settings", "set", skill, "a=1", "--scope", "global") == (
        "invalid_scope"
    )
    ok(world, "skill", "settings", "set", skill, "a=1", "--scope", "device", "--device", "Porch")
    # A skill kept per device needs the device its values are for
    assert refused(world, "skill", "settings", "set", skill, "a=2") == "device_required"
    assert refused(world, "device", "rename", "Porch", " ") == "invalid_device_name"
    assert refused(world, "device", "settings", "set", "Porch", "=1") == "invalid_setting"
    # Nothing changed
    got = ok(world, "skill", "settings", "get", skill, "--device", "Porch")
    assert (got["scope"], got["settings"]) == ("device", {"a": 1})
    assert "Porch" in [d["name"] for d in ok(world, "device", "list")["devices"]]


def test_text_output(world: World) -> None:
    node = world.node
    options = ["--node", node.url, "--home", str(node.home), "--keyring-backend", "test"]
    env = {PASSPHRASE_ENV: None, BACKEND_ENV: None, OWNER_KEY_ENV: None, "VOXPOP_HOME": None}
    code, _ = world.office.request_pairing(DeviceInfo("Attic"))
    for argv in (
        ["device", "claim", code],
        ["device", "list"],
        ["device", "settings", "set", "Attic", "lang=en-us"],
        ["device", "settings", "get", "Attic"],
        ["device", "location", "get"],
        ["skill", "settings", "get", "skill-weather.openvoiceos"],
        ["inbox", "read"],
    ):
        result = CliRunner().invoke(app, [*argv, *options], env=env, catch_exceptions=False)
        assert result.exit_code == 0, (argv, result.output)
    assert "Attic" in CliRunner().invoke(app, ["device", "list", *options], env=env).stdout


def test_records_up_to_the_size_limit(world: World) -> None:
    code, _ = world.office.request_pairing(DeviceInfo("Garage"))
    ok(world, "device", "claim", code)
    # The default max_record_bytes is 16,384 bytes of ciphertext: 41 of them are the format's
    big = "x" * 16_000
    ok(world, "device", "settings", "set", "Garage", f"notes={big}")
    too_big = "y" * 16_400
    assert refused(world, "device", "settings", "set", "Garage", f"notes={too_big}") == (
        "settings_record_too_large"
    )
    assert ok(world, "device", "settings", "get", "Garage", "notes")["settings"] == {"notes": big}


def test_skill_settings_per_device_fall_back_to_the_shared_ones(world: World) -> None:
    skill = "skill-news.openvoiceos"
    for name in ("Den", "Loft"):
        code, _ = world.office.request_pairing(DeviceInfo(name))
        ok(world, "device", "claim", code)
    ok(world, "skill", "settings", "set", skill, "station=npr", "volume=5")
    ok(world, "skill", "settings", "set", skill, "station=bbc", "--scope", "device",
       "--device", "Den")  # fmt: skip
    # Den has its own values, started from the shared ones; Loft, with none, is served those
    den = ok(world, "skill", "settings", "get", skill, "--device", "Den")["settings"]
    loft = ok(world, "skill", "settings", "get", skill, "--device", "Loft")["settings"]
    assert den == {"station": "bbc", "volume": 5}
    assert loft == {"station": "npr", "volume": 5}
    assert ok(world, "skill", "settings", "get", skill)["settings"] == loft
