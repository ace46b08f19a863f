"""Selene device API: oauth routes (issue 12; AG2/AG3 own this file)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
