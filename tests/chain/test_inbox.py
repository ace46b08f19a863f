"""inbox: sealed messages posted to an owner by its agent under authz (or by the owner), read and
deleted by the owner, pruned at their expiry; every bad input is refused and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chain.conftest import ALICE, BOB, CAROL
from tests.chain.harness import Chain
from voxpop.chain import errors
from voxpop.chain.abci import RequestQuery
from voxpop.chain.app import event_attrs
from voxpop.chain.genesis import default_app_state
from voxpop.chain.module_accounts import module_address
from voxpop.chain.modules.bank.state import balance_key
from voxpop.chain.modules.inbox.messages import (
    MAX_DELETE_IDS,
    MAX_MESSAGE_BYTES,
    MsgDeleteMessages,
    MsgPost,
)
from voxpop.chain.modules.inbox.module import InboxModule
from voxpop.chain.modules.inbox.state import (
    MAX_TTL_SECONDS,
    InboxMessage,
    InboxParams,
    decode_message,
)
from voxpop.client.lists import verify_list
from voxpop.client.tx import msg_authz_exec, msg_authz_grant, msg_authz_revoke
from voxpop.crypto.address import encode_address
from voxpop.crypto.encryption_keys import derive_encryption_keys
from voxpop.crypto.keys import PrivateKey
from voxpop.crypto.sealed import open_for_account, seal_envelope
from voxpop.store.proof import Proof, verify_proof

A, B, C = (k.public_key.address for k in (ALICE, BOB, CAROL))
Msg = tuple[str, dict[str, Any]]
TTL = InboxParams().max_ttl_seconds
SEALED = bytes(range(48)) + b"opaque"


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[Chain]:
    """ALICE (an owner), BOB (her agent) and CAROL (another owner), all funded."""
    c = Chain.start(tmp_path / "state", [(ALICE, 10**9), (BOB, 10**9), (CAROL, 10**9)])
    yield c
    c.app.store.close()


# --- messages and reads ---------------------------------------------------------------------------


def post(owner: bytes, ciphertext: bytes = SEALED, expires_at: int = 0) -> Msg:
    return MsgPost(owner, ciphertext, expires_at).raw()


def delete(owner: bytes, *ids: int) -> Msg:
    return MsgDeleteMessages.TYPE, {"owner": owner, "ids": list(ids)}


def as_agent(agent: PrivateKey, *msgs: Msg) -> Msg:
    return msg_authz_exec(agent.public_key.address, list(msgs))


def message(chain: Chain, owner: bytes, message_id: int) -> InboxMessage | None:
    raw = chain.query("/inbox/message", owner + message_id.to_bytes(8, "big"))
    return decode_message(raw) if raw else None


def inbox(chain: Chain, owner: bytes) -> list[int]:
    """The owner's message ids, from the list query verified against the app hash."""
    path = "/inbox/by_owner"
    res = chain.app.query(RequestQuery(path, owner, prove=True))
    assert res.code == 0, res.log
    items = verify_list(chain.app.last_app_hash, path, owner, res.key, res.value, res.proof)
    return [int.from_bytes(i.id, "big") for i in items]


def last_id(chain: Chain, owner: bytes) -> int:
    raw = chain.query("/inbox/last_id", owner)
    return int.from_bytes(raw, "big") if raw else 0


def run(chain: Chain, who: PrivateKey, *msgs: Msg) -> Any:
    result = chain.deliver(chain.tx(who, list(msgs)))
    assert result.code == 0, result.log
    return result


def refused(chain: Chain, who: PrivateKey, *msgs: Msg) -> int:
    """The code a tx of `msgs` fails with, checking it changed no state but the signer's sequence
    and fee."""
    before = chain.snapshot()
    tx = chain.tx(who, list(msgs))
    code = chain.check(tx).code
    if code != 0:
        chain.sequences[who.public_key.address] -= 1
        chain.block([])
    else:
        code = chain.deliver(tx).code
    assert code != 0
    after = chain.snapshot()
    changed = {k for k in set(after) | set(before) if after.get(k) != before.get(k)}
    fee_keys = {balance_key(who.public_key.address), balance_key(module_address("fee_collector"))}
    assert not {k for k in changed if k.startswith(b"inbox/")}
    assert {k for k in changed if k.startswith(b"bank/")} <= fee_keys
    return code


def grant_post(chain: Chain, owner: PrivateKey = ALICE, agent: bytes = B) -> None:
    run(chain, owner, msg_authz_grant(owner.public_key.address, agent, MsgPost.TYPE))


# --- post -----------------------------------------------------------------------------------------


def test_agent_posts_a_sealed_message_the_owner_opens(chain: Chain) -> None:
    """The whole path with real keys: sealed to ALICE's directory key, posted by her agent under
    her grant, read back with a proof and opened with her key."""
    grant_post(chain)
    x25519 = derive_encryption_keys(ALICE.seed, 1).x25519_public
    sealed = seal_envelope(1, x25519, b"remind me to buy milk")
    result = run(chain, BOB, as_agent(BOB, post(A, sealed)))
    assert inbox(chain, A) == [1]
    stored = message(chain, A, 1)
    assert stored == InboxMessage(sealed, chain.time, chain.time + TTL)
    assert open_for_account(ALICE.seed, stored.ciphertext) == b"remind me to buy milk"
    events = [event_attrs(e) for e in result.events if e.type == "inbox_post"]
    assert events == [{"owner": encode_address(A), "id": "1", "expires_at": str(chain.time + TTL)}]
    assert b"milk" not in b"".join(v for _, v in chain.snapshot().items())


def test_ids_count_up_and_are_never_reused(chain: Chain) -> None:
    run(chain, ALICE, post(A), post(A), post(A))
    assert inbox(chain, A) == [1, 2, 3] and last_id(chain, A) == 3
    run(chain, ALICE, delete(A, 3))
    run(chain, ALICE, post(A))
    assert inbox(chain, A) == [1, 2, 4]
    # Each owner counts on its own
    run(chain, CAROL, post(C))
    assert inbox(chain, C) == [1]


def test_post_with_an_expiry(chain: Chain) -> None:
    expires_at = chain.time + 1_000
    run(chain, ALICE, post(A, expires_at=expires_at))
    assert message(chain, A, 1).expires_at == expires_at  # type: ignore[union-attr]


@pytest.mark.parametrize("offset", [-5, 0, TTL + 1])
def test_invalid_expiry(chain: Chain, offset: int) -> None:
    """The block runs at chain.time + 5: an expiry at or before it, or beyond the ttl, is
    refused."""
    expires_at = chain.time + 5 + offset
    code = refused(chain, ALICE, post(A, expires_at=expires_at))
    assert code == errors.InboxExpiryInvalidError.code


def test_invalid_message_size(chain: Chain) -> None:
    limit = InboxParams().max_message_bytes
    assert refused(chain, ALICE, post(A, bytes(limit + 1))) == errors.InboxMessageTooLargeError.code
    huge = (MsgPost.TYPE, {"owner": A, "ciphertext": bytes(MAX_MESSAGE_BYTES + 1), "expires_at": 0})
    assert refused(chain, ALICE, huge) == errors.InvalidMessageError.code
    empty = (MsgPost.TYPE, {"owner": A, "ciphertext": b"", "expires_at": 0})
    assert refused(chain, ALICE, empty) == errors.InvalidMessageError.code
    run(chain, ALICE, post(A, bytes(limit)))


def test_invalid_inbox_full(tmp_path: Path) -> None:
    chain = start(tmp_path, max_messages_per_owner=2)
    run(chain, ALICE, post(A), post(A))
    assert refused(chain, ALICE, post(A)) == errors.InboxFullError.code
    run(chain, CAROL, post(C))  # another inbox has its own room
    run(chain, ALICE, delete(A, 1), post(A))
    assert inbox(chain, A) == [2, 3]
    chain.app.store.close()


def test_invalid_agent_without_grant_or_after_revoke(chain: Chain) -> None:
    no_grant = errors.NoAuthorizationError.code
    assert refused(chain, BOB, as_agent(BOB, post(A))) == no_grant
    # Posting as the owner without its key: not the signer
    assert refused(chain, BOB, post(A)) == errors.UnauthorizedError.code
    grant_post(chain)
    run(chain, BOB, as_agent(BOB, post(A)))
    # The grant covers posts, not deletes; nor another owner's inbox
    assert refused(chain, BOB, as_agent(BOB, delete(A, 1))) == no_grant
    assert refused(chain, BOB, as_agent(BOB, post(C))) == no_grant
    run(chain, ALICE, msg_authz_revoke(A, B, MsgPost.TYPE))
    assert refused(chain, BOB, as_agent(BOB, post(A))) == no_grant
    assert inbox(chain, A) == [1]


# --- delete ---------------------------------------------------------------------------------------


def test_delete(chain: Chain) -> None:
    run(chain, ALICE, post(A), post(A), post(A))
    result = run(chain, ALICE, delete(A, 3, 1))
    assert inbox(chain, A) == [2]
    assert message(chain, A, 1) is None and message(chain, A, 3) is None
    events = [event_attrs(e) for e in result.events if e.type == "inbox_delete"]
    assert events == [{"owner": encode_address(A), "ids": "3,1"}]


def test_invalid_delete(chain: Chain) -> None:
    run(chain, ALICE, post(A), post(A))
    run(chain, CAROL, post(C))
    not_found = errors.InboxMessageNotFoundError.code
    # One unknown id fails all: nothing is deleted
    assert refused(chain, ALICE, delete(A, 1, 3)) == not_found
    assert refused(chain, ALICE, delete(A, 1 << 40)) == not_found
    # CAROL's id 1 is her own message: ALICE's request names ALICE's inbox
    run(chain, ALICE, delete(A, 1))
    assert refused(chain, ALICE, delete(A, 1)) == not_found
    assert inbox(chain, C) == [1]
    # CAROL cannot delete from ALICE's inbox
    assert refused(chain, CAROL, delete(A, 2)) == errors.UnauthorizedError.code
    invalid = errors.InvalidMessageError.code
    assert refused(chain, ALICE, delete(A, 2, 2)) == invalid
    assert refused(chain, ALICE, delete(A)) == invalid
    assert refused(chain, ALICE, delete(A, 0)) == invalid
    assert refused(chain, ALICE, delete(A, *range(1, MAX_DELETE_IDS + 2))) == invalid
    assert inbox(chain, A) == [2]


# --- expiry ---------------------------------------------------------------------------------------


def test_expired_messages_are_pruned(chain: Chain) -> None:
    run(chain, ALICE, post(A, expires_at=chain.time + 5 + 100), post(A))
    chain.block([], advance=99)
    assert inbox(chain, A) == [1, 2]
    chain.block([], advance=1)
    assert inbox(chain, A) == [2]
    assert refused(chain, ALICE, delete(A, 1)) == errors.InboxMessageNotFoundError.code
    chain.block([], advance=TTL)
    assert inbox(chain, A) == []
    assert last_id(chain, A) == 2
    run(chain, ALICE, post(A))
    assert inbox(chain, A) == [3]


def test_pruning_is_bounded_per_block(chain: Chain, monkeypatch: pytest.MonkeyPatch) -> None:
    from voxpop.chain.modules.inbox import state

    run(chain, ALICE, *(post(A, expires_at=chain.time + 5 + 10) for _ in range(5)))
    monkeypatch.setattr(state.prune_expired, "__defaults__", (2,))
    chain.block([], advance=10)
    assert inbox(chain, A) == [3, 4, 5]
    chain.block([])
    assert inbox(chain, A) == [5]
    chain.block([])
    assert inbox(chain, A) == []


# --- queries --------------------------------------------------------------------------------------


def test_queries_are_provable(chain: Chain) -> None:
    run(chain, ALICE, post(A))
    for path, data in (
        ("/inbox/message", A + (1).to_bytes(8, "big")),
        ("/inbox/message", A + (2).to_bytes(8, "big")),
        ("/inbox/last_id", A),
        ("/inbox/params", b""),
    ):
        res = chain.app.query(RequestQuery(path, data, prove=True))
        assert res.code == 0, res.log
        value = res.value or None
        assert verify_proof(chain.app.last_app_hash, res.key, value, Proof.decode(res.proof))


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/inbox/message", b""),
        ("/inbox/message", bytes(27)),
        ("/inbox/message", bytes(29)),
        ("/inbox/last_id", bytes(21)),
        ("/inbox/by_owner", bytes(28)),
    ],
)
def test_invalid_query_data(chain: Chain, path: str, data: bytes) -> None:
    res = chain.app.query(RequestQuery(path, data, 0))
    assert res.code == errors.InvalidQueryError.code


# --- genesis --------------------------------------------------------------------------------------


def start(tmp_path: Path, **params: int) -> Chain:
    state = default_app_state([(A, 10**9), (B, 10**9), (C, 10**9)])
    state["inbox"] = {
        "params": {**InboxParams().to_value(), **params},
        "messages": [],
        "last_ids": [],
    }
    return Chain.start(tmp_path / "inbox", app_state=state)


def genesis_message(**fields: Any) -> dict[str, Any]:
    return {
        "owner": encode_address(A),
        "id": 2,
        "ciphertext": SEALED.hex(),
        "posted_at": 1_800_000_000,
        "expires_at": 1_800_000_000 + TTL,
        **fields,
    }


def test_genesis_export_and_import(chain: Chain, tmp_path: Path) -> None:
    run(chain, ALICE, post(A), post(A, b"x" * 100), post(A), delete(A, 2))
    run(chain, CAROL, post(C), delete(C, 1))
    exported = InboxModule().export_genesis(chain.app.committed)
    assert [m["id"] for m in exported["messages"]] == [1, 3]
    assert len(exported["last_ids"]) == 2
    state = default_app_state([(A, 10**9), (C, 10**9)])
    state["inbox"] = exported
    again = Chain.start(tmp_path / "again", app_state=state)
    assert inbox(again, A) == [1, 3] and inbox(again, C) == []
    assert message(again, A, 3) == message(chain, A, 3)
    assert InboxModule().export_genesis(again.app.committed) == exported
    # Ids go on from where they were
    run(again, ALICE, post(A))
    run(again, CAROL, post(C))
    assert inbox(again, A) == [1, 3, 4] and inbox(again, C) == [2]
    again.app.store.close()


LAST = [{"owner": encode_address(A), "last_id": 2}]


@pytest.mark.parametrize(
    ("messages", "last_ids"),
    [
        ([genesis_message()], []),  # an id beyond its owner's last id
        ([genesis_message(id=3)], LAST),
        ([genesis_message(id=0)], LAST),
        ([genesis_message(id=-1)], LAST),
        ([genesis_message(owner="vox1nope")], LAST),
        ([genesis_message(ciphertext="")], LAST),
        ([genesis_message(ciphertext="zz")], LAST),
        ([genesis_message(ciphertext="00" * (MAX_MESSAGE_BYTES + 1))], LAST),
        ([genesis_message(expires_at=1_800_000_000)], LAST),
        ([genesis_message(expires_at=1_800_000_000 + MAX_TTL_SECONDS + 1)], LAST),
        ([genesis_message(posted_at=1 << 64)], LAST),
        ([genesis_message(), genesis_message()], LAST),
        ([genesis_message(extra=1)], LAST),
        (["x"], LAST),
        ([], [{"owner": encode_address(A), "last_id": 0}]),
        ([], [{"owner": encode_address(A), "last_id": 1 << 64}]),
        ([], [*LAST, *LAST]),
        ([], [{"owner": encode_address(A)}]),
    ],
)
def test_invalid_genesis(tmp_path: Path, messages: list[Any], last_ids: list[Any]) -> None:
    state = default_app_state([])
    state["inbox"] = {
        "params": InboxParams().to_value(),
        "messages": messages,
        "last_ids": last_ids,
    }
    with pytest.raises(errors.InvalidGenesisError):
        Chain.start(tmp_path / "g", app_state=state)


PARAMS = InboxParams().to_value()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"params": PARAMS, "messages": []},
        {"params": PARAMS, "messages": {}, "last_ids": []},
        {"params": {**PARAMS, "max_message_bytes": 63}, "messages": [], "last_ids": []},
        {"params": {**PARAMS, "max_message_bytes": 16_385}, "messages": [], "last_ids": []},
        {"params": {**PARAMS, "max_messages_per_owner": 0}, "messages": [], "last_ids": []},
        {"params": {**PARAMS, "max_messages_per_owner": 1_025}, "messages": [], "last_ids": []},
        {"params": {**PARAMS, "max_ttl_seconds": 3_599}, "messages": [], "last_ids": []},
        {
            "params": {**PARAMS, "max_ttl_seconds": MAX_TTL_SECONDS + 1},
            "messages": [],
            "last_ids": [],
        },
        {"params": {"max_ttl_seconds": 3_600}, "messages": [], "last_ids": []},
    ],
)
def test_invalid_genesis_shape_and_params(tmp_path: Path, data: dict[str, Any]) -> None:
    state = default_app_state([])
    state["inbox"] = data
    with pytest.raises(errors.InvalidGenesisError):
        Chain.start(tmp_path / "g", app_state=state)


def test_invalid_genesis_beyond_the_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from voxpop.chain.modules.inbox import state as inbox_state

    monkeypatch.setattr(inbox_state, "MAX_MESSAGES_PER_OWNER", 2)
    last = [{"owner": encode_address(A), "last_id": 3}]
    messages = [genesis_message(id=i) for i in (1, 2, 3)]
    state = default_app_state([])
    params = InboxParams(max_messages_per_owner=2).to_value()
    state["inbox"] = {"params": params, "messages": messages, "last_ids": last}
    with pytest.raises(errors.InvalidGenesisError, match="too many messages"):
        Chain.start(tmp_path / "g", app_state=state)
    # Lowered params do not stop an import of what an inbox holds
    state["inbox"]["messages"] = messages[:2]
    state["inbox"]["params"] = InboxParams(
        max_messages_per_owner=1, max_message_bytes=64
    ).to_value()
    state["inbox"]["messages"][0]["ciphertext"] = "00" * 100
    chain = Chain.start(tmp_path / "ok", app_state=state)
    assert len(chain.query("/inbox/message", A + (1).to_bytes(8, "big"))) > 100
    chain.app.store.close()


def test_params_change_within_bounds(chain: Chain) -> None:
    from tests.chain.test_devices import scratch
    from voxpop.chain.modules.inbox.state import get_params

    module, ctx = InboxModule(), scratch(chain)
    current = module.params_value(chain.app.committed)
    assert current == InboxParams().to_value()
    module.set_params_value(ctx, {**current, "max_messages_per_owner": 10})
    assert get_params(ctx) == InboxParams(max_messages_per_owner=10)
    for bad in (
        {**current, "max_ttl_seconds": MAX_TTL_SECONDS + 1},
        {**current, "max_message_bytes": MAX_MESSAGE_BYTES + 1},
        {**current, "max_messages_per_owner": 0},
        {"max_ttl_seconds": 3_600},
    ):
        with pytest.raises(errors.InvalidGenesisError):
            module.set_params_value(scratch(chain), bad)
