"""The htlc module: hash-time-locked uvox and on-chain swap offers."""
