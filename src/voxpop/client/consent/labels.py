"""Labelling the owner's objects in its sealed local index (what the policy matches offers with):
kind, language, length in seconds, tags (e.g. "location", "email": what a policy may forbid), and
the salted commitment `content_hash = sha256(salt || plaintext)` a grant publishes per object.
None of it leaves the home except the content hash (on chain, in a grant) and the salt (sealed to
a grantee with the object's kit), so the buyer can check what it decrypted."""

from __future__ import annotations

import dataclasses

from voxpop.client.consent.errors import LabelError
from voxpop.client.storage.index import IndexEntry, NameIndex
from voxpop.crypto.consent import content_hash, new_salt


def label_object(
    index: NameIndex,
    object_id: bytes,
    plaintext: bytes,
    *,
    kind: str,
    language: str = "",
    seconds: int = 0,
    tags: tuple[str, ...] = (),
) -> IndexEntry:
    """Label an object of the index; a fresh salt commits to `plaintext`. Raises LabelError."""
    entry = index.get(object_id.hex())
    # Verify the object is the owner's (in its index) and the plaintext is the one stored
    if entry is None:
        raise LabelError(f"object {object_id.hex()} is not in the local index")
    if len(plaintext) != entry.size:
        raise LabelError(f"{len(plaintext)} bytes given, the object holds {entry.size}")
    if not kind or seconds < 0:
        raise LabelError("a label needs a kind and a non-negative length")
    salt = new_salt()
    labelled = dataclasses.replace(
        entry,
        kind=kind,
        language=language,
        seconds=seconds,
        tags=tuple(sorted(set(tags))),
        salt=salt.hex(),
        content_hash=content_hash(salt, plaintext).hex(),
    )
    index.replace(labelled)
    return labelled
