"""The protocol docs list every error code the chain can return."""

from __future__ import annotations

from pathlib import Path

from voxpop.chain.errors import ERRORS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "protocol"


def test_error_table_is_complete() -> None:
    text = (DOCS / "errors.md").read_text()
    for code, cls in ERRORS.items():
        assert f"| {code} | `{cls.name}` |" in text, (
            f"docs/protocol/errors.md lacks {code} {cls.name}"
        )
