"""Random change sets for property tests, applied to a plain dict as the model state."""

from __future__ import annotations

from collections.abc import Mapping

from hypothesis import strategies as st

# A small key space, so that updates and deletes hit existing keys often.
keys = st.builds(lambda n: b"k%d" % n, st.integers(0, 60))
values = st.binary(min_size=0, max_size=6)
change_sets = st.dictionaries(keys, st.none() | values, max_size=25)


def apply_changes(state: dict[bytes, bytes], changes: Mapping[bytes, bytes | None]) -> None:
    for key, value in changes.items():
        if value is None:
            state.pop(key, None)
        else:
            state[key] = value
