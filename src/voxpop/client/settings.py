"""The settings vault: an owner's encrypted settings, read and written by the owner or one of the
owner's agents, with every answer proven against a signed header.

    vault = SettingsVault(client, owner_address, my_key)   # my_key: the owner's or an agent's
    vault.read("location")                                 # -> plaintext bytes, or None
    client.execute(my_key, [vault.put_msg("location", b"...")])            # the owner
    client.execute(my_key, [msg_authz_exec(me, [vault.put_msg(...)])])     # an agent

`my_key` is the reader's account key: the wraps of the owner's settings keys are sealed to the
X25519 keys it publishes in the key directory, derived from it (crypto/encryption_keys.py). The
formats are in docs/protocol/settings.md.
"""

from __future__ import annotations

from collections.abc import Iterable

from voxpop.chain.encoding import decode_canonical
from voxpop.chain.modules.settings.messages import MsgDelete, MsgPut, MsgRotate
from voxpop.chain.modules.settings.state import Epoch, Record
from voxpop.client._core import address_text
from voxpop.client.errors import NoPublishedKeysError, ProtocolError, VoxClientError
from voxpop.client.lists import ProvenList
from voxpop.client.sync import VoxClient
from voxpop.crypto import settings as fmt
from voxpop.crypto.address import decode_address
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.sealed import SealedBoxError, open_for_account, seal_envelope


class SettingsKeyError(VoxClientError):
    """This reader holds no settings key of the owner for that epoch: the owner has none yet, or
    did not wrap it to this reader (never, or not since a rotation that dropped it)."""

    code = "settings_no_key"


class NotSettingsOwnerError(VoxClientError):
    """Only the owner rotates the settings key (the chain refuses anyone else)."""

    code = "not_settings_owner"


class SettingsVault:
    """One reader's view of one owner's settings. Keys unwrapped once per epoch are kept in
    memory for the vault's life (never written anywhere)."""

    def __init__(self, client: VoxClient, owner: bytes | str, key: PrivateKey) -> None:
        self.client = client
        self.owner = decode_address(address_text(owner))
        self.key = key
        self._keys: dict[int, fmt.SettingsKeys] = {}
        self._naming_key: bytes | None = None

    @property
    def reader(self) -> bytes:
        return self.key.public_key.address

    # --- keys -----------------------------------------------------------------------------------

    def current_epoch(self) -> Epoch | None:
        """The owner's current key epoch, proven (None: no settings key yet)."""
        result = self.client.query("/settings/epoch", self.owner, prove=True)
        if not result.value:
            return None
        try:
            return Epoch.from_value(decode_canonical(result.value))
        except (ValueError, TypeError, KeyError):
            raise ProtocolError("the proven settings epoch is malformed") from None

    def keys(self) -> fmt.SettingsKeys:
        """The keys of the owner's current epoch, unwrapped from the wrap addressed to this
        reader. Raises SettingsKeyError, ProofVerificationError."""
        epoch = self.current_epoch()
        if epoch is None:
            raise SettingsKeyError("the owner has no settings key yet")
        return self.keys_of(epoch.epoch)

    def keys_of(self, epoch: int) -> fmt.SettingsKeys:
        """The keys of `epoch`, from its wrap to this reader (read once, proven). Raises
        SettingsKeyError, ProofVerificationError, ValueError (an epoch out of range)."""
        known = self._keys.get(epoch)
        if known is not None:
            return known
        if not 1 <= epoch <= fmt.MAX_EPOCH:
            raise ValueError("a key epoch is 1 to 2^32-1")
        data = self.owner + epoch.to_bytes(fmt.EPOCH_SIZE, "big") + self.reader
        sealed = self.client.query("/settings/wrap", data, prove=True).value
        # Verify the owner wrapped this epoch's keys to this reader, and the wrap opens
        if not sealed:
            raise SettingsKeyError(f"epoch {epoch}'s settings key is not wrapped to this reader")
        try:
            keys = fmt.unwrap_keys(epoch, open_for_account(self.key.seed, sealed))
        except (SealedBoxError, fmt.SettingsCiphertextError):
            raise SettingsKeyError(
                f"the wrap of epoch {epoch} does not open with this key"
            ) from None
        self._keys[epoch] = keys
        self._naming_key = keys.naming_key
        return keys

    def naming_key(self) -> bytes:
        if self._naming_key is None:
            self.keys()
        assert self._naming_key is not None
        return self._naming_key

    def record_id(self, name: str) -> bytes:
        """The on-chain id of the record `name`. Raises SettingsKeyError."""
        return fmt.compute_record_id(self.naming_key(), name)

    # --- reads ----------------------------------------------------------------------------------

    def record(self, record_id: bytes) -> Record | None:
        """The stored record with this id, proven (None: absent)."""
        value = self.client.query("/settings/record", self.owner + record_id, prove=True).value
        if not value:
            return None
        try:
            return Record.from_value(decode_canonical(value))
        except (ValueError, TypeError, KeyError):
            raise ProtocolError("the proven settings record is malformed") from None

    def read(self, name: str) -> bytes | None:
        """The plaintext of the record `name` (None: no such record), proven and decrypted with
        the key of the epoch it was written under. Raises SettingsKeyError (e.g. written after a
        rotation that dropped this reader), SettingsCiphertextError, ProofVerificationError."""
        record_id = self.record_id(name)
        record = self.record(record_id)
        if record is None:
            return None
        keys = self.keys_of(record.epoch)
        return fmt.decrypt_record(
            keys.settings_key,
            self.owner,
            record_id,
            record.epoch,
            record.version,
            record.ciphertext,
        )

    def records(self) -> ProvenList:
        """Every record id of the owner, proven complete (ids only: names are the reader's)."""
        return self.client.query_list("/settings/by_owner", self.owner, prove=True)

    # --- writes ---------------------------------------------------------------------------------

    def put_msg(self, name: str, plaintext: bytes) -> MsgPut:
        """settings/Put of the record's next version under the current epoch (send it as the
        owner, or inside authz/Exec as an agent). Raises SettingsKeyError."""
        keys = self.keys()
        record_id = fmt.compute_record_id(keys.naming_key, name)
        stored = self.record(record_id)
        version = (stored.version if stored else 0) + 1
        ciphertext = fmt.encrypt_record(
            keys.settings_key, self.owner, record_id, keys.epoch, version, plaintext
        )
        return MsgPut(self.owner, record_id, version, keys.epoch, ciphertext)

    def delete_msg(self, name: str) -> MsgDelete:
        return MsgDelete(self.owner, self.record_id(name))

    def rotate_msg(self, recipients: Iterable[bytes | str]) -> MsgRotate:
        """settings/Rotate to the next epoch: a new settings key (the naming key kept), wrapped
        to each recipient's current X25519 key, read with a proof; the owner is always added.
        Raises NotSettingsOwnerError, NoPublishedKeysError, SettingsKeyError."""
        # Verify this vault is the owner's: the chain refuses a rotation by anyone else
        if self.reader != self.owner:
            raise NotSettingsOwnerError("only the owner rotates its settings key")
        current = self.current_epoch()
        naming_key = self.keys().naming_key if current is not None else fmt.new_key()
        keys = fmt.SettingsKeys((current.epoch if current else 0) + 1, fmt.new_key(), naming_key)
        wanted = sorted({self.owner, *(decode_address(address_text(r)) for r in recipients)})
        wraps = []
        for recipient in wanted:
            published = self.client.directory_keys(recipient, prove=True)
            record = published.record
            if record is None or record.x25519 is None:
                raise NoPublishedKeysError(f"{published.address} publishes no encryption keys")
            wraps.append((recipient, seal_envelope(record.version, record.x25519, keys.wrapped())))
        return MsgRotate(self.owner, keys.epoch, tuple(wraps))

    # --- device blobs ---------------------------------------------------------------------------

    def seal_blob(self, blob_id: bytes, plaintext: bytes) -> bytes:
        """A device blob (name, platform, versions) under the current epoch's key; `blob_id` is
        the device id (= the pairing id). Raises SettingsKeyError."""
        keys = self.keys()
        return fmt.seal_blob(keys.settings_key, self.owner, blob_id, keys.epoch, plaintext)

    def open_blob(self, blob_id: bytes, blob: bytes) -> bytes:
        """The plaintext of a device blob, with the key of the epoch it names. Raises
        SettingsKeyError, SettingsCiphertextError."""
        return fmt.open_blob(
            lambda epoch: self.keys_of(epoch).settings_key, self.owner, blob_id, blob
        )
