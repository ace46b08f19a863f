"""The settings vault against a real solo node: the owner keys its settings to two agents, one
agent writes under its authz grant, the other reads it back (proven, decrypted); after the owner
drops an agent and rotates, that agent reads nothing new and writes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from voxpop.chain.module import Msg
from voxpop.chain.modules.settings.messages import MsgPut
from voxpop.client import ProofVerificationError, TxRejectedError, VoxClient
from voxpop.client.settings import NotSettingsOwnerError, SettingsKeyError, SettingsVault
from voxpop.client.testing import LocalNode
from voxpop.client.tx import msg_authz_exec, msg_authz_grant, msg_authz_revoke
from voxpop.crypto import PrivateKey, encode_address
from voxpop.crypto import settings as fmt
from voxpop.crypto.sealed import open_for_account

pytestmark = pytest.mark.slow

OWNER = PrivateKey(bytes([21]) * 32)
KITCHEN = PrivateKey(bytes([22]) * 32)  # the agent of one home
OFFICE = PrivateKey(bytes([23]) * 32)  # the agent of another, dropped later
OA, KA, FA = (k.public_key.address for k in (OWNER, KITCHEN, OFFICE))
WRITES = ("settings/Put", "settings/Delete")
GAS = 400_000


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    home = tmp_path_factory.mktemp("vault") / "node"
    funds = {encode_address(k.public_key.address): 10**12 for k in (OWNER, KITCHEN, OFFICE)}
    with LocalNode.start(home, funds=funds) as running:
        yield running


def run(client: VoxClient, signer: PrivateKey, msgs: list[Msg | tuple[str, dict]]) -> None:
    result = client.execute(signer, msgs, gas_limit=GAS)
    assert result.code == 0, result.log


def as_agent(agent: PrivateKey, msg: Msg) -> tuple[str, dict]:
    return msg_authz_exec(agent.public_key.address, [msg.raw()])


def test_two_agents_share_settings_and_a_dropped_agent_reads_nothing_new(node: LocalNode) -> None:
    with VoxClient(node.url) as client:
        for who in (OWNER, KITCHEN, OFFICE):
            assert client.publish_keys(who).code == 0
        owner = SettingsVault(client, OA, OWNER)
        kitchen = SettingsVault(client, OA, KITCHEN)
        office = SettingsVault(client, encode_address(OA), OFFICE)
        with pytest.raises(SettingsKeyError):
            kitchen.keys()  # no settings key yet

        # The owner keys its settings to both agents and lets them write
        grants = [msg_authz_grant(OA, agent, t) for agent in (KA, FA) for t in WRITES]
        run(client, OWNER, [owner.rotate_msg([KA, encode_address(FA)]), *grants])
        keys = owner.keys()
        assert keys.epoch == 1 and kitchen.keys() == keys == office.keys()

        # One agent writes for the owner under its grant; the other reads it back, proven
        run(client, KITCHEN, [as_agent(KITCHEN, kitchen.put_msg("location", b"Lisbon, PT"))])
        assert office.read("location") == b"Lisbon, PT"
        assert owner.read("location") == b"Lisbon, PT"
        assert office.read("skill/weather.openvoiceos/values") is None
        blob = kitchen.seal_blob(bytes(range(32)), b'{"name": "kitchen speaker"}')
        assert office.open_blob(bytes(range(32)), blob) == b'{"name": "kitchen speaker"}'
        run(client, OFFICE, [as_agent(OFFICE, office.put_msg("location", b"Porto, PT"))])
        record = owner.record(owner.record_id("location"))
        assert record is not None and (record.version, record.epoch) == (2, 1)
        listed = owner.records()
        assert listed.verified and [i.id for i in listed.items] == [owner.record_id("location")]

        # Only the owner rotates: not an agent's vault, not through authz/Exec
        with pytest.raises(NotSettingsOwnerError):
            kitchen.rotate_msg([KA])
        with pytest.raises(TxRejectedError) as refused:
            run(client, KITCHEN, [as_agent(KITCHEN, owner.rotate_msg([KA]))])
        assert refused.value.code == "not_delegable"

        # The owner drops the office agent: revoke its grants, rotate to the kitchen only
        revokes = [msg_authz_revoke(OA, FA, t) for t in WRITES]
        run(client, OWNER, [*revokes, owner.rotate_msg([KA])])
        run(client, KITCHEN, [as_agent(KITCHEN, kitchen.put_msg("location", b"Faro, PT"))])
        assert kitchen.read("location") == b"Faro, PT"
        assert owner.read("location") == b"Faro, PT"
        with pytest.raises(SettingsKeyError):
            office.read("location")  # written under epoch 2, not wrapped to it
        with pytest.raises(SettingsKeyError):
            office.keys()
        # Its epoch-1 key, which it still holds, does not open what was written since
        record = owner.record(owner.record_id("location"))
        assert record is not None and record.epoch == 2
        old = office.keys_of(1)
        with pytest.raises(fmt.SettingsCiphertextError):
            fmt.decrypt_record(
                old.settings_key, OA, owner.record_id("location"), 2, 3, record.ciphertext
            )
        # It cannot build a write under the new epoch, and one it forges is refused: no grant
        with pytest.raises(SettingsKeyError):
            office.put_msg("location", b"x")
        forged = fmt.encrypt_record(old.settings_key, OA, owner.record_id("location"), 2, 4, b"x")
        put = MsgPut(OA, owner.record_id("location"), 4, 2, forged)
        with pytest.raises(TxRejectedError) as refused:
            run(client, OFFICE, [as_agent(OFFICE, put)])
        assert refused.value.code == "no_authorization"
        # The new epoch's wrap to the owner opens with the owner's key alone
        wrap = client.query("/settings/wrap", OA + (2).to_bytes(4, "big") + OA, prove=True).value
        assert fmt.unwrap_keys(2, open_for_account(OWNER.seed, wrap)).naming_key == keys.naming_key


def test_a_lying_node_cannot_change_a_record(node: LocalNode) -> None:
    from tests.client.conftest import TamperingTransport

    def flip(path: str, answer: object) -> object:
        if path == "/v1/query" and isinstance(answer, dict) and answer.get("value"):
            value = bytearray(bytes.fromhex(answer["value"])) if _is_hex(answer["value"]) else None
            if value is not None:
                value[-1] ^= 1
                return {**answer, "value": value.hex()}
        return None

    with VoxClient(node.url) as honest:
        owner = SettingsVault(honest, OA, OWNER)
        record_id = owner.record_id("location")
    with VoxClient(node.url, transport=TamperingTransport(flip)) as lying:
        vault = SettingsVault(lying, OA, OWNER)
        with pytest.raises(ProofVerificationError):
            vault.record(record_id)


def _is_hex(text: object) -> bool:
    try:
        bytes.fromhex(str(text))
    except ValueError:
        return False
    return True
