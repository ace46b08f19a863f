"""Skill royalties: what other modules and the paying client may use of the skills module."""

from voxpop.chain.modules.skills.messages import MsgSettle, settle_msgs
from voxpop.chain.modules.skills.state import (
    MAX_USES_PER_SETTLE,
    Skill,
    get_skill,
    is_skill_id,
    read_skill,
)

__all__ = [
    "MAX_USES_PER_SETTLE",
    "MsgSettle",
    "Skill",
    "get_skill",
    "is_skill_id",
    "read_skill",
    "settle_msgs",
]
