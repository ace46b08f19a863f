"""The randomness beacon: a per-block seed from the validators' vote extensions."""
