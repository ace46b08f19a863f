"""The skills messages as declarations: round trips through the wire and JSON shapes with real
skill ids (the shared test in test_declared_messages.py draws ids as arbitrary text, which the
chain refuses), and malformed ids refused with their code."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voxpop.chain import errors
from voxpop.chain.encoding import decode_canonical, encode
from voxpop.chain.module import Msg, msg_fields, msg_from_json
from voxpop.chain.modules.skills.messages import (
    MsgRegisterSkill,
    MsgRetireSkill,
    MsgSettle,
    MsgTransferSkill,
    MsgUpdateSkill,
)
from voxpop.chain.modules.skills.state import MAX_SKILL_ID_LEN, MAX_USES_PER_SETTLE, is_skill_id

SKILL_IDS = st.from_regex(r"\A[a-z0-9_][a-z0-9._-]{0,40}\.[a-z0-9][a-z0-9-]{0,20}\Z")
ADDRESSES = st.binary(min_size=20, max_size=20)
UINT = st.integers(1, 2**64 - 1)


def wire(cls: type[Msg]) -> st.SearchStrategy[dict[str, Any]]:
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for f in msg_fields(cls):
        if f.key == "skill_id":
            fields[f.key] = SKILL_IDS
        elif f.key == "uses":
            fields[f.key] = st.lists(
                st.tuples(SKILL_IDS, UINT).map(list),
                min_size=1,
                max_size=MAX_USES_PER_SETTLE,
                unique_by=lambda u: u[0],
            )
        elif f.key == "fee_per_use":
            fields[f.key] = UINT
        else:
            fields[f.key] = ADDRESSES
    return st.fixed_dictionaries(fields)


MESSAGES = [MsgRegisterSkill, MsgUpdateSkill, MsgTransferSkill, MsgRetireSkill, MsgSettle]


@pytest.mark.parametrize("cls", MESSAGES, ids=lambda c: c.TYPE)
@given(data=st.data())
def test_round_trip(cls: type[Msg], data: st.DataObject) -> None:
    value = data.draw(wire(cls))
    if cls is MsgTransferSkill and value["creator"] == value["new_creator"]:
        with pytest.raises(errors.InvalidMessageError):
            cls.from_value(value)
        return
    msg = cls.from_value(value)
    assert msg.to_value() == value
    raw = encode(msg.to_value())
    assert cls.from_value(decode_canonical(raw)) == msg
    assert msg_from_json(cls, msg.to_json()["value"], "here") == msg


@given(st.from_regex(r"\A[a-z0-9._-]{1,30}\.[a-z0-9-]{1,10}\Z"))
def test_skill_id_shape(text: str) -> None:
    """Any lowercase `<repo>.<author>` parses, unless the repo starts with `.` or `-` or the
    author with `-`."""
    repo, _, author = text.rpartition(".")
    expected = repo[0] not in ".-" and author[0] != "-"
    assert is_skill_id(text) == expected


@pytest.mark.parametrize(
    "bad",
    ["", "x", "X.y", "a.b_c", "a b.c", "a.b\n", "a" * MAX_SKILL_ID_LEN + ".b", 3, b"a.b", None],
)
def test_invalid_skill_id(bad: Any) -> None:
    value = {"creator": bytes(20), "skill_id": bad}
    with pytest.raises(errors.InvalidSkillIdError):
        MsgRetireSkill.from_value(value)
    uses = {"payer": bytes(20), "uses": [[bad, 1]]}
    with pytest.raises(errors.InvalidSkillIdError):
        MsgSettle.from_value(uses)
