"""The node's choice of event attributes for CometBFT's tx indexer (`[cometbft] index_events`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from voxpop.abci import translate
from voxpop.abci.event_index import DEFAULT_INDEX_EVENTS, EventIndex, EventIndexError
from voxpop.chain.abci import Event, EventAttribute, ExecTxResult, ResponseFinalizeBlock
from voxpop.node.config import ConfigError, NodeConfig, load_config

TRANSFER_TX = (
    Event("tx", (EventAttribute("signer", "vox1a"), EventAttribute("fee", "10"))),
    Event(
        "transfer",
        (
            EventAttribute("sender", "vox1a"),
            EventAttribute("recipient", "vox1b"),
            EventAttribute("amount", "5"),
        ),
    ),
    Event("audit", (EventAttribute("recipient", "vox1b", indexed=False),)),
)


def indexed(events: list[object]) -> set[str]:
    return {f"{e.type}.{a.key}" for e in events for a in e.attributes if a.index}  # type: ignore[attr-defined]


def test_default_indexes_signer_and_recipient_only() -> None:
    index = EventIndex.parse(DEFAULT_INDEX_EVENTS)
    assert indexed(translate.events_to_pb(TRANSFER_TX, index)) == {
        "tx.signer",
        "transfer.recipient",
    }
    # Every attribute still travels to CometBFT (block_results shows them all), only unmarked
    pb = translate.events_to_pb(TRANSFER_TX, index)
    assert [len(e.attributes) for e in pb] == [2, 3, 1]


def test_star_indexes_what_the_app_marks_and_empty_indexes_nothing() -> None:
    everything = {"tx.signer", "tx.fee", "transfer.sender", "transfer.recipient", "transfer.amount"}
    assert indexed(translate.events_to_pb(TRANSFER_TX, EventIndex.parse(["*"]))) == everything
    assert indexed(translate.events_to_pb(TRANSFER_TX)) == everything  # no policy: as the app says
    assert indexed(translate.events_to_pb(TRANSFER_TX, EventIndex.parse([]))) == set()


def test_finalize_block_results_follow_the_policy() -> None:
    resp = ResponseFinalizeBlock(
        events=(Event("mint", (EventAttribute("amount", "1"),)),),
        tx_results=(ExecTxResult(code=0, events=TRANSFER_TX),),
        validator_updates=(),
        app_hash=b"\x00" * 32,
    )
    pb = translate.finalize_block_response_to_pb(resp, EventIndex.parse(["mint.amount"]))
    assert indexed(list(pb.events)) == {"mint.amount"}
    assert indexed(list(pb.tx_results[0].events)) == set()


@pytest.mark.parametrize("bad", ["signer", "tx.", ".signer", " tx.signer", ""])
def test_a_name_that_is_not_type_dot_key_is_refused(bad: str) -> None:
    with pytest.raises(EventIndexError):
        EventIndex.parse([bad])


def test_config_default_and_refusal(tmp_path: Path) -> None:
    assert NodeConfig().cometbft.event_index() == EventIndex.parse(DEFAULT_INDEX_EVENTS)
    path = tmp_path / "config.toml"
    path.write_text('[cometbft]\nindex_events = ["tx.signer", "transfer.amount"]\n')
    assert load_config(path).cometbft.event_index().names("transfer", "amount")
    path.write_text('[cometbft]\nindex_events = ["transfer"]\n')
    with pytest.raises(ConfigError, match="index_events"):
        load_config(path)
    path.write_text("[cometbft]\nindex_events = [1]\n")
    with pytest.raises(ConfigError, match="index_events"):
        load_config(path)
