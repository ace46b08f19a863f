"""Skill settings sync: devices' skill lists, settings metadata and values, kept in the owner's
encrypted settings records on chain (written under the owner's grant, read with proofs), with a
verified cache in the agent's local store so reads answer when no node does.

Records (JSON objects; names as client/devices.py names them, the CLI reads and writes them too):

    skill/<key>/meta                       the settings metadata (sections, fields, defaults)
    skill/<key>/scope                      {"scope": "shared" | "device"} (absent: shared)
    skill/<key>/values                     the values all the owner's devices share
    device/<id hex>/skill/<key>/values     one device's values, when the scope is "device"

A device answers with the defaults of the metadata, then the stored values (a skill kept per
device falls back to the shared values until the device has its own: a new device inherits
them). Uploads are merged three ways against what the device last held from here
(skill_meta.merge_upload) and written with the record's next version: settings/Put refuses a
version that is not the stored one + 1, so two writers never overwrite each other unseen; a
refused write is re-read, re-merged and sent again.

The agent keeps locally (encrypted): each device's skill list and the exact ids it sent, the
values each device last held, and the skills any of the owner's devices reported, so a device
paired later is answered with their shared settings before it reports anything.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid as uuidlib
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from voxpop.agent import selene
from voxpop.agent.auth import DeviceSession
from voxpop.agent.errors import ChainRejectedError, ChainUnavailableError
from voxpop.agent.skill_meta import (
    SkillSettingsError,
    check_meta,
    field_names,
    merge_upload,
    sections_with_values,
    skill_key,
    values_of,
    without_values,
)
from voxpop.client.devices import SCOPE_DEVICE, SCOPE_SHARED, skill_scope_name, skill_values_name

if TYPE_CHECKING:
    from voxpop.agent.agent import Agent
    from voxpop.chain.modules.settings.messages import MsgPut
    from voxpop.client.settings import SettingsVault
    from voxpop.client.sync import VoxClient

log = logging.getLogger(__name__)

DEVICES_NS = "skill-devices"  # uuid -> {"gids": {gid: key}, "listed": [gid, ...]}
SEEN_NS = "skill-seen"  # "<uuid>/<key>" -> the values the device last held from here
INDEX_NS = "skill-index"  # key -> {"display_name"}: skills any of the owner's devices reported
CACHE_NS = "skill-records"  # record name -> {"v": version, "doc": JSON or null}, as last proven
MAX_SKILLS_PER_DEVICE = 512
MAX_RECORD_JSON = 16 * 1024  # bytes of one record's JSON (the chain allows up to 24 KiB)
WRITE_ATTEMPTS = 3
VERSION_CONFLICT = "settings_version_conflict"
_SKILL_UUID_NS = uuidlib.UUID("6f1c3a52-8f0e-4c1e-9a55-9b7d3f1c2e10")


def meta_name(key: str) -> str:
    return f"skill/{key}/meta"


def skill_uuid(key: str) -> str:
    """The stable uuid the v1 API names a skill by (Selene's was a database id)."""
    return str(uuidlib.uuid5(_SKILL_UUID_NS, key))


@dataclass(frozen=True, slots=True)
class StoredRecord:
    version: int  # 0: absent
    doc: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class SkillView:
    """One skill as one device sees it."""

    key: str
    meta: dict[str, Any]  # the metadata (empty sections: none uploaded)
    scope: str
    values_name: str  # the record the device's values are written to
    values_source: str  # the record they were read from (the shared one, until a device's own)
    values_record: StoredRecord  # that record
    values: dict[str, Any]  # defaults, then the stored values: what the device is answered
    defaults: dict[str, Any]
    versions: tuple[int, int, int]  # meta, scope, values: any edit changes one


class Snapshot:
    """The owner's settings records at one moment: every record listed with proofs from a node
    (one query), decrypted on demand; or, when no node answers, the verified cache."""

    def __init__(
        self,
        sync: SkillSync,
        vault: SettingsVault | None,
        items: Mapping[bytes, bytes] | None,
    ) -> None:
        self.sync = sync
        self.vault = vault
        self.items = items
        self._read: dict[str, StoredRecord] = {}

    @property
    def online(self) -> bool:
        return self.items is not None

    def read(self, name: str) -> StoredRecord:
        """The record `name` (version 0: absent, or unreadable to this agent for lack of a key)."""
        known = self._read.get(name)
        if known is None:
            if not self.online:
                known = self.sync.cached(name)
            elif self.vault is None:
                known = StoredRecord(0, None)
            else:
                known = self._proven(name)
            self._read[name] = known
        return known

    def _proven(self, name: str) -> StoredRecord:
        from voxpop.chain.encoding import decode_canonical
        from voxpop.chain.modules.settings.state import Record
        from voxpop.crypto import settings as fmt

        assert self.vault is not None and self.items is not None
        record_id = self.vault.record_id(name)
        raw = self.items.get(record_id)
        if raw is None:
            found = StoredRecord(0, None)
        else:
            record = Record.from_value(decode_canonical(raw))
            keys = self.vault.keys_of(record.epoch)
            plaintext = fmt.decrypt_record(
                keys.settings_key,
                self.vault.owner,
                record_id,
                record.epoch,
                record.version,
                record.ciphertext,
            )
            found = StoredRecord(record.version, decode_object(plaintext))
        self.sync.remember(name, found)
        return found


def decode_object(raw: bytes) -> dict[str, Any] | None:
    """A record's JSON object (None: not a JSON object: read as if absent)."""
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def encode_object(doc: Mapping[str, Any]) -> bytes:
    raw = json.dumps(dict(doc), sort_keys=True, separators=(",", ":")).encode()
    # Verify the record fits what the chain keeps
    if len(raw) > MAX_RECORD_JSON:
        raise SkillSettingsError(
            f"the skill settings record is over {MAX_RECORD_JSON} bytes", "skill_settings_too_large"
        )
    return raw


class SkillSync:
    """The agent's skill settings (one per agent: `skill_sync(agent)`). Thread-safe."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.store = agent.store
        self._lock = threading.RLock()  # one upload's read-merge-write at a time

    # --- the local store ------------------------------------------------------------------------

    def device_state(self, uuid: str) -> dict[str, Any]:
        state = self.store.get_json(DEVICES_NS, uuid)
        return state if isinstance(state, dict) else {"gids": {}, "listed": []}

    def _save_device_state(self, uuid: str, state: dict[str, Any]) -> None:
        self.store.put_json(DEVICES_NS, uuid, state)

    def note_gid(self, uuid: str, gid: str, display_name: str | None = None) -> str:
        """Remember the exact id a device used for a skill (answers use it); the skill key."""
        key = skill_key(gid)
        with self._lock:
            state = self.device_state(uuid)
            if state["gids"].get(gid) != key or key in state.get("dropped", []):
                # Verify the device's skills stay within bounds
                if len(state["gids"]) >= MAX_SKILLS_PER_DEVICE:
                    raise SkillSettingsError(
                        f"a device reports at most {MAX_SKILLS_PER_DEVICE} skills",
                        "too_many_skills",
                    )
                state["gids"][gid] = key
                state["dropped"] = [k for k in state.get("dropped", []) if k != key]
                self._save_device_state(uuid, state)
            self._index(key, display_name)
        return key

    def _index(self, key: str, display_name: str | None) -> None:
        entry = self.store.get_json(INDEX_NS, key)
        if entry is None or (display_name and entry.get("display_name") != display_name):
            self.store.put_json(INDEX_NS, key, {"display_name": display_name or key})

    def known_keys(self) -> list[str]:
        """Skills any of the owner's devices reported to this agent."""
        return [key for key, _ in self.store.items(INDEX_NS)]

    def set_skill_list(self, session: DeviceSession, skills: Iterable[Mapping[str, Any]]) -> int:
        """PUT skillJson: the device's installed skills (what royalties count). Returns how many.

        Raises SkillSettingsError (nothing kept) for a list that is not a list of skills."""
        entries: list[tuple[str, str, str]] = []
        for skill in skills:
            # Verify each entry is a skill naming itself by skill_gid or name
            if not isinstance(skill, Mapping):
                raise SkillSettingsError("skills[]: objects with skill_gid and name")
            gid = skill.get("skill_gid") or skill.get("name")
            if not isinstance(gid, str):
                raise SkillSettingsError("skills[]: each names its skill_gid or name")
            name = skill.get("name")
            entries.append(
                (gid, skill_key(gid), name.strip().lower() if isinstance(name, str) else "")
            )
        if len(entries) > MAX_SKILLS_PER_DEVICE:
            raise SkillSettingsError(
                f"a device reports at most {MAX_SKILLS_PER_DEVICE} skills", "too_many_skills"
            )
        with self._lock:
            state = self.device_state(session.uuid)
            keys = {key for _g, key, _n in entries}
            for gid, key, _name in entries:
                state["gids"][gid] = key
                self._index(key, None)
            state["dropped"] = [k for k in state.get("dropped", []) if k not in keys]
            state["listed"] = sorted({gid for gid, _k, _n in entries})
            if len(state["gids"]) > MAX_SKILLS_PER_DEVICE:
                # Ids of skills no longer installed go first
                state["gids"] = {g: k for g, k in state["gids"].items() if g in state["listed"]}
            state["names"] = sorted({n for _g, _k, n in entries if n})
            self._save_device_state(session.uuid, state)
        return len(entries)

    def listed_ids(self, uuid: str) -> set[str]:
        """What names the skills in the device's list: their exact ids, keys and names."""
        state = self.device_state(uuid)
        listed = set(state.get("listed", []))
        ids = {g.lower() for g in listed} | {state["gids"].get(g, "") for g in listed}
        return (ids | set(state.get("names", []))) - {""}

    def seen(self, uuid: str, key: str) -> dict[str, Any] | None:
        found = self.store.get_json(SEEN_NS, f"{uuid}/{key}")
        return found if isinstance(found, dict) else None

    def mark_seen(self, uuid: str, key: str, values: Mapping[str, Any]) -> None:
        if self.seen(uuid, key) != values:
            self.store.put_json(SEEN_NS, f"{uuid}/{key}", dict(values))

    def cached(self, name: str) -> StoredRecord:
        found = self.store.get_json(CACHE_NS, name)
        if not isinstance(found, dict):
            return StoredRecord(0, None)  # never proven: read as absent
        return StoredRecord(int(found["v"]), found["doc"])

    def remember(self, name: str, record: StoredRecord) -> None:
        if self.cached(name) != record:
            self.store.put_json(CACHE_NS, name, {"v": record.version, "doc": record.doc})

    # --- reads ----------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The owner's records now, proven; the verified cache when no node answers."""
        from voxpop.client.settings import SettingsKeyError

        chain = self.agent.chain

        def fetch(client: VoxClient) -> tuple[SettingsVault, dict[bytes, bytes]]:
            vault = chain.vault(client)
            items = {item.id: item.value for item in vault.records().items}
            return vault, items

        try:
            vault, items = chain.call(fetch)
            vault.naming_key()
        except ChainUnavailableError:
            return Snapshot(self, None, None)
        except SettingsKeyError:
            # The owner keyed no settings to this agent yet: nothing stored it can read
            return Snapshot(self, None, {})
        return Snapshot(self, vault, items)

    def view(self, snap: Snapshot, session: DeviceSession, key: str) -> SkillView:
        meta_record = snap.read(meta_name(key))
        scope_record = snap.read(skill_scope_name(key))
        try:
            meta = check_meta((meta_record.doc or {}).get("skillMetadata"))
        except SkillSettingsError:
            meta = check_meta(None)  # a record of another shape (not from a device): no defaults
        scope = (scope_record.doc or {}).get("scope", SCOPE_SHARED)
        name = source = skill_values_name(key)
        if scope == SCOPE_DEVICE:
            name = skill_values_name(key, session.device_id)
            if snap.read(name).version:
                source = name  # until then the device inherits the shared values
        record = snap.read(source)
        defaults = values_of(meta)
        values = {**defaults, **(record.doc or {})}
        versions = (meta_record.version, scope_record.version, record.version)
        return SkillView(key, meta, scope, name, source, record, values, defaults, versions)

    def device_keys(self, uuid: str) -> dict[str, list[str]]:
        """Skill key -> the ids the device used for it (the key itself for skills it never
        named: those other devices of the owner reported)."""
        state = self.device_state(uuid)
        dropped = set(state.get("dropped", []))
        by_key: dict[str, list[str]] = {k: [] for k in self.known_keys() if k not in dropped}
        for gid, key in sorted(state["gids"].items()):
            by_key.setdefault(key, []).append(gid)
        return {key: gids or [key] for key, gids in sorted(by_key.items())}

    def settings_v2(self, session: DeviceSession) -> tuple[dict[str, Any], str, list[SkillView]]:
        """GET skill/settings: {skill_gid: values} under each id the device sent; its ETag."""
        snap = self.snapshot()
        document: dict[str, Any] = {}
        views = []
        for key, gids in self.device_keys(session.uuid).items():
            view = self.view(snap, session, key)
            views.append(view)
            for gid in gids:
                document[gid] = view.values
        return document, self._etag(document, views), views

    def settings_v1(
        self, session: DeviceSession, identifier: str | None = None
    ) -> tuple[list[dict[str, Any]], str, list[SkillView]]:
        """GET skill (v1): one object per skill id, values as strings in the metadata."""
        snap = self.snapshot()
        skills: list[dict[str, Any]] = []
        views = []
        for key, gids in self.device_keys(session.uuid).items():
            if identifier is not None and identifier not in gids and identifier != key:
                continue
            view = self.view(snap, session, key)
            views.append(view)
            display = (self.store.get_json(INDEX_NS, key) or {}).get("display_name") or key
            sections = sections_with_values(view.meta, view.values)
            for gid in gids:
                skills.append(
                    {
                        "uuid": skill_uuid(key),
                        "skill_gid": gid,
                        "identifier": gid,
                        "display_name": display,
                        "skillMetadata": {"sections": sections},
                    }
                )
        return skills, self._etag(skills, views), views

    @staticmethod
    def _etag(document: Any, views: list[SkillView]) -> str:
        # The versions too: every edit bumps one, even an edit that sets the same value
        return selene.etag_of({"doc": document, "v": [[v.key, *v.versions] for v in views]})

    # --- writes ---------------------------------------------------------------------------------

    def put_meta(
        self, session: DeviceSession, gid: str, display_name: str | None, meta: Any
    ) -> bool:
        """PUT settingsMeta: the skill's settings metadata (its values are the defaults). Taken
        in any order: before the skill list too. Whether a record was written.

        Raises SkillSettingsError, ChainUnavailableError, ChainRejectedError."""
        checked = without_values(check_meta(meta))
        key = self.note_gid(session.uuid, gid, display_name)
        with self._lock:
            snap = self.snapshot()
            self._require_online(snap)
            current = snap.read(meta_name(key))
            doc = {"display_name": display_name or key, "skillMetadata": checked}
            # mycroft-core uploads a skill with no settings as just its id and name: nothing to
            # store unless it replaces metadata stored before
            if current.doc == doc or (current.version == 0 and not checked["sections"]):
                return False
            self._write(meta_name(key), doc, current.version)
            return True

    def upload_values(
        self, session: DeviceSession, gid: str, values: Mapping[str, Any], meta: Any = None
    ) -> tuple[str, list[str]]:
        """A device's values for a skill (PUT skill, v1), merged with what is stored and written
        when they change something. Returns (skill key, conflicting fields kept as stored).

        Raises SkillSettingsError, ChainUnavailableError, ChainRejectedError."""
        key = self.note_gid(session.uuid, gid)
        shape = _blank_values(check_meta(meta)) if meta is not None else None
        with self._lock:
            for attempt in range(WRITE_ATTEMPTS):
                snap = self.snapshot()
                self._require_online(snap)
                view = self.view(snap, session, key)
                if shape and shape["sections"] and field_names(shape) != field_names(view.meta):
                    # The first metadata for the skill, or its fields changed. A v1 upload's
                    # values are this device's, not defaults: only the shape is kept as metadata
                    doc = {"display_name": key, "skillMetadata": shape}
                    self._write(meta_name(key), doc, snap.read(meta_name(key)).version)
                    view = self.view(self.snapshot(), session, key)
                base = self.seen(session.uuid, key)
                merged, conflicts = merge_upload(
                    view.values, view.defaults if base is None else base, values
                )
                try:
                    if merged != view.values:
                        own = view.values_source == view.values_name
                        self._write(
                            view.values_name, merged, view.values_record.version if own else 0
                        )
                except ChainRejectedError as exc:
                    if VERSION_CONFLICT in str(exc) and attempt + 1 < WRITE_ATTEMPTS:
                        continue  # written meanwhile: merge again with the new values
                    raise
                # The device holds its upload now; fields kept as stored reach it with its next
                # download (the ETag changed)
                self.mark_seen(session.uuid, key, {**merged, **values})
                if conflicts:
                    # Counts only: skill names and fields are the owner's private data
                    log.info("skill upload: %d fields kept as stored (newer)", len(conflicts))
                return key, conflicts
        raise ChainRejectedError(f"{VERSION_CONFLICT}: the skill's values kept changing")

    def forget_skill(self, session: DeviceSession, gid: str) -> bool:
        """DELETE skill/{gid}: the device uninstalled the skill. Its per-device values go (the
        shared ones stay: other devices use them). Whether the device knew the skill."""
        key = skill_key(gid)
        with self._lock:
            state = self.device_state(session.uuid)
            known = [g for g, k in state["gids"].items() if k == key]
            if not known and key not in self.known_keys():
                return False
            for g in known:
                del state["gids"][g]
            state["listed"] = [g for g in state.get("listed", []) if g not in known]
            state["dropped"] = sorted({*state.get("dropped", []), key})
            self._save_device_state(session.uuid, state)
            self.store.delete(SEEN_NS, f"{session.uuid}/{key}")
            own = skill_values_name(key, session.device_id)
            snap = self.snapshot()
            if snap.online and snap.vault is not None and snap.read(own).version:
                self._delete(own)
        return True

    def _require_online(self, snap: Snapshot) -> None:
        # Verify a node answered: a write needs the stored version and this agent's key
        if not snap.online:
            raise ChainUnavailableError("no node answered: skill settings not written")
        if snap.vault is None:
            raise SkillSettingsError(
                "the owner has not keyed its settings to this agent (voxpop agent authorize)",
                "settings_no_key",
            )

    def _write(self, name: str, doc: Mapping[str, Any], stored_version: int) -> None:
        """settings/Put of `doc` as version stored + 1 (the chain refuses it if another write
        landed since: settings_version_conflict)."""
        plaintext = encode_object(doc)
        chain = self.agent.chain
        version = stored_version + 1
        result = chain.send_with(lambda c: [put_msg(chain.vault(c), name, plaintext, version)])
        # Verify the tx did what it was sent for (a refused Put reports the chain's reason)
        if result.code != 0:
            raise ChainRejectedError(f"[{result.code}] {result.log}")
        self.remember(name, StoredRecord(version, dict(doc)))

    def _delete(self, name: str) -> None:
        chain = self.agent.chain
        result = chain.send_with(lambda c: [chain.vault(c).delete_msg(name)])
        if result.code != 0:
            raise ChainRejectedError(f"[{result.code}] {result.log}")
        self.remember(name, StoredRecord(0, None))

    # --- catch-up -------------------------------------------------------------------------------

    def refresh(self) -> None:
        """The sync hook: re-read every device's skills so the cache holds what was last proven."""
        snap = self.snapshot()
        if not snap.online:
            return
        for record in self.agent.devices.all():
            if record["removed"]:
                continue
            session = DeviceSession(record["uuid"], bytes.fromhex(record["device_id"]), b"")
            for key in self.device_keys(session.uuid):
                self.view(snap, session, key)


def put_msg(vault: SettingsVault, name: str, plaintext: bytes, version: int) -> MsgPut:
    """settings/Put of `name` at exactly `version` (the vault's own put_msg takes whatever the
    node stores + 1, which would overwrite a write this agent has not seen)."""
    from voxpop.chain.modules.settings.messages import MsgPut
    from voxpop.crypto import settings as fmt

    keys = vault.keys()
    record_id = fmt.compute_record_id(keys.naming_key, name)
    ciphertext = fmt.encrypt_record(
        keys.settings_key, vault.owner, record_id, keys.epoch, version, plaintext
    )
    return MsgPut(vault.owner, record_id, version, keys.epoch, ciphertext)


def _blank_values(meta: Mapping[str, Any]) -> dict[str, Any]:
    """Metadata without a device's values (a v1 upload carries values, not defaults)."""
    sections = []
    for section in meta.get("sections") or []:
        fields = [{k: v for k, v in f.items() if k != "value"} for f in section.get("fields", [])]
        sections.append({**section, "fields": fields})
    return {**meta, "sections": sections}


_SYNCS: weakref.WeakKeyDictionary[Agent, SkillSync] = weakref.WeakKeyDictionary()
_SYNCS_LOCK = threading.Lock()


def skill_sync(agent: Agent) -> SkillSync:
    """The agent's SkillSync, made on first use (and its cache refreshed on each sync pass)."""
    with _SYNCS_LOCK:
        sync = _SYNCS.get(agent)
        if sync is None:
            sync = SkillSync(agent)
            _SYNCS[agent] = sync
            agent.syncer.add_hook(sync.refresh)
        else:
            return sync
    # Devices sync skills at boot: from then on each sync pass also settles royalties when due
    # (uses pending from before a restart included)
    from voxpop.agent.errors import AgentConfigError
    from voxpop.agent.royalties import tally_of

    try:
        tally_of(agent)
    except AgentConfigError as exc:
        log.warning("royalties not settled: %s", exc)
    return sync
