"""The home's pages, one module each, in the navigation's order: each exports `router` (an
APIRouter with its GET pages and POST actions); home/__init__.py mounts them all."""

from __future__ import annotations

from voxpop.agent.home.pages import community, data, devices, earning, settings, wallet

PAGES = (devices, settings, wallet, data, community, earning)

__all__ = ["PAGES"]
