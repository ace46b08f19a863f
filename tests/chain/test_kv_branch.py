"""A branch's reads and ordered iteration match a plain dict model, whatever the interleaving of
writes, deletes, iterates (which keep the branch's key order between calls), writes made straight
into its dict, and nested branches written through."""

from __future__ import annotations

from collections.abc import Iterator

from hypothesis import given, settings
from hypothesis import strategies as st

from voxpop.chain.kv import Branch, CommittedView

KEYS = st.binary(min_size=1, max_size=3).map(lambda b: bytes(x % 4 for x in b))
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("set"), KEYS, st.binary(min_size=1, max_size=2)),
        st.tuples(st.just("delete"), KEYS, st.just(b"")),
        st.tuples(
            st.just("iterate"),
            st.binary(max_size=2).map(lambda b: bytes(x % 4 for x in b)),
            st.just(b""),
        ),
        st.tuples(st.just("update"), KEYS, st.binary(min_size=1, max_size=2)),
        st.tuples(st.just("nest"), KEYS, st.binary(min_size=1, max_size=2)),
    ),
    max_size=80,
)


def view(model: dict[bytes, bytes]) -> CommittedView:
    def iterate(prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        return iter(sorted((k, v) for k, v in model.items() if k.startswith(prefix)))

    return CommittedView(model.get, iterate)


def expected(model: dict[bytes, bytes | None], prefix: bytes) -> list[tuple[bytes, bytes]]:
    return sorted((k, v) for k, v in model.items() if k.startswith(prefix) and v is not None)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, st.binary(min_size=1, max_size=2), max_size=12), OPS)
def test_branch_matches_a_dict(
    parent: dict[bytes, bytes], ops: list[tuple[str, bytes, bytes]]
) -> None:
    branch = Branch(view(parent))
    model: dict[bytes, bytes | None] = dict(parent)
    for op, key, value in ops:
        if op == "set":
            branch.set(key, value)
            model[key] = value
        elif op == "delete":
            branch.delete(key)
            model[key] = None
        elif op == "update":  # a write straight into the dict (as Branch.write does to a parent)
            branch.writes.update({key: value})
            model[key] = value
        elif op == "nest":  # a child branch's writes, written through
            child = Branch(branch)
            child.set(key, value)
            assert list(child.iterate(key[:1])) == expected({**model, key: value}, key[:1])
            child.write()
            model[key] = value
        else:
            assert list(branch.iterate(key)) == expected(model, key)
        assert branch.get(key) == model.get(key)
    assert list(branch.iterate(b"")) == expected(model, b"")
