"""An owner's agent in tests: just another account key, authorized by the owner's authz grants
(`voxpop agent authorize`), that sends devices/RequestPairing, settings writes and inbox posts
for the owner wrapped in authz/Exec (the agent role of the next issue does the same through
this SDK)."""

from __future__ import annotations

from dataclasses import dataclass

from voxpop.chain.errors import error_name
from voxpop.chain.module import Msg
from voxpop.chain.modules.devices.messages import MsgRequestPairing
from voxpop.chain.modules.inbox.messages import MsgPost
from voxpop.client import TxRejectedError, VoxClient, msg_authz_exec
from voxpop.client.devices import DeviceInfo, OwnerDevices, estimate_gas
from voxpop.client.settings import SettingsVault
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.pairing import new_code, new_salt, pairing_id

INBOX_TTL = 86_400


@dataclass
class Agent:
    client: VoxClient
    key: PrivateKey
    owner: bytes

    @property
    def address(self) -> bytes:
        return self.key.public_key.address

    @property
    def vault(self) -> SettingsVault:
        return SettingsVault(self.client, self.owner, self.key)

    @property
    def flows(self) -> OwnerDevices:
        """The owner's flows as this agent can run them (reads through its own wrap)."""
        return OwnerDevices(self.client, self.key, owner=self.owner)

    def exec(self, *msgs: Msg) -> str | None:
        """Send `msgs` for the owner in one authz/Exec: None if done, else the error's name."""
        wrapped = msg_authz_exec(self.address, [m.raw() for m in msgs])
        try:
            result = self.client.execute(self.key, [wrapped], gas_limit=estimate_gas(msgs) * 2)
        except TxRejectedError as exc:
            return exc.code
        return error_name(result.code) if result.code else None

    def request_pairing(self, info: DeviceInfo) -> tuple[str, bytes]:
        """Publish a pairing request for a device showing `info`: the code it speaks, its id."""
        code, salt = new_code(), new_salt()
        pid = pairing_id(salt, code)
        blob = self.vault.seal_blob(pid, info.encode())
        error = self.exec(MsgRequestPairing(self.owner, self.address, pid, salt, blob))
        assert error is None, error
        return code, pid

    def post(self, text: str, now: int) -> None:
        """An inbox message to the owner (sealed to its directory key), kept a day."""
        ciphertext = self.client.encrypt_to(self.owner, text.encode())
        error = self.exec(MsgPost(self.owner, ciphertext, now + INBOX_TTL))
        assert error is None, error
