"""Trustless cross-chain swaps: hash-time-locked legs on VOX, Ethereum and Bitcoin."""
