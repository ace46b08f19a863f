"""agent.toml: what init writes reads back the same; every bad field is refused with a code and
the field's name; the agent binds 127.0.0.1 unless the owner says otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxpop.agent.config import (
    CONFIG_FILE,
    DEFAULT_HOST,
    DEFAULT_PORT,
    config_from_doc,
    config_to_doc,
    init_agent_home,
    load_config,
)
from voxpop.agent.errors import AgentConfigError
from voxpop.agent.keys import load_agent_key
from voxpop.crypto import encode_address
from voxpop.crypto.keys import PrivateKey

OWNER = PrivateKey(bytes([41]) * 32).public_key.address


def test_init_then_load(tmp_path: Path) -> None:
    config, address = init_agent_home(
        tmp_path,
        owner=OWNER,
        chain_id="c",
        nodes=["http://a:1317/", "http://b:1317"],
        keyring_backend="test",
    )
    loaded = load_config(tmp_path)
    assert loaded == config.with_changes(nodes=("http://a:1317", "http://b:1317"))
    assert (loaded.host, loaded.port) == (DEFAULT_HOST, DEFAULT_PORT) == ("127.0.0.1", 6712)
    assert not (loaded.opt_in.metrics or loaded.opt_in.uploads or loaded.opt_in.skill_usage)
    assert load_agent_key(loaded).public_key.address == address
    # A second init never overwrites the home
    with pytest.raises(AgentConfigError) as caught:
        init_agent_home(tmp_path, owner=OWNER, chain_id="c", nodes=["http://a"])
    assert caught.value.code == "agent_home_exists"


def test_invalid_fields_are_named(tmp_path: Path) -> None:
    good = config_to_doc(
        config_from_doc(
            tmp_path, {"owner": encode_address(OWNER), "chain_id": "c", "nodes": ["http://a"]}
        )
    )
    cases = {
        "owner": {"owner": "vox1notanaddress"},
        "nodes": {"nodes": []},
        "port": {"port": 70_000},
        "keyring_backend": {"keyring_backend": "os"},
        "tokens.": {"tokens": {"access_ttl": 0}},
        "opt_in.": {"opt_in": {"metrics": "yes"}},
        "skill_use_caps.": {"skill_use_caps": {"default": -1}},
        "payments.": {"payments": {"deposit": 1.5}},
        "trusted_validator_keys": {"trusted_validator_keys": ["zz"]},
        "sync_interval": {"sync_interval": -1},
    }
    for field, change in cases.items():
        with pytest.raises(AgentConfigError) as caught:
            config_from_doc(tmp_path, {**good, **change})
        assert caught.value.code == "invalid_agent_config"
        assert field in str(caught.value), (field, str(caught.value))


def test_invalid_missing_or_broken_file(tmp_path: Path) -> None:
    with pytest.raises(AgentConfigError):
        load_config(tmp_path)
    (tmp_path / CONFIG_FILE).write_text("owner = [unclosed")
    with pytest.raises(AgentConfigError):
        load_config(tmp_path)
