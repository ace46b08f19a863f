"""The generated ABCI protobuf types, with a clear error when they have not been generated.

`scripts/gen_proto.sh` (`make proto`) compiles CometBFT's .proto files into `voxpop.abci.gen`,
which is committed (so every wheel ships it) and checked against the pinned protos by
tests/node/test_wheel.py. Everything else imports the types from here:

    from voxpop.abci.proto import abci_pb2, keys_pb2, proof_pb2
"""

from __future__ import annotations

GENERATE_HINT = "run scripts/gen_proto.sh (make proto) to generate voxpop.abci.gen"

try:
    from voxpop.abci.gen.tendermint.abci import types_pb2 as abci_pb2
    from voxpop.abci.gen.tendermint.crypto import keys_pb2, proof_pb2
except ImportError as exc:  # pragma: no cover - depends on the build step
    raise ImportError(f"ABCI protobuf types are missing ({exc}); {GENERATE_HINT}") from exc

__all__ = ["GENERATE_HINT", "abci_pb2", "keys_pb2", "proof_pb2"]
