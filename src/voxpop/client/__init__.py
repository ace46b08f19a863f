"""The voxpop client SDK: talk to a node's HTTP API, build and sign txs, verify proofs.

    from voxpop.client import VoxClient, parse_amount
    with VoxClient("http://127.0.0.1:1317") as client:
        result = client.send(key, "vox1...", parse_amount("1.5vox"))
        account = client.account("vox1...", prove=True)   # verified against the signed header
                                                          # (under CometBFT: by the light client)

See docs/client.md.
"""

from voxpop.client.aio import AsyncVoxClient
from voxpop.client.amount import UVOX_PER_VOX, format_vox, parse_amount
from voxpop.client.directory import PublishedKeys
from voxpop.client.errors import (
    AmountError,
    ApiError,
    ConflictingHeadersError,
    LightClientError,
    NodeUnreachableError,
    NoPublishedKeysError,
    NotFoundError,
    ProofVerificationError,
    ProtocolError,
    ServerError,
    StaleResponseError,
    TxRejectedError,
    TxWaitTimeoutError,
    VoxClientError,
)
from voxpop.client.light import LightClient, TrustOptions
from voxpop.client.lists import ListItem, ProvenList, verify_list
from voxpop.client.sync import DEFAULT_URL, VoxClient
from voxpop.client.tx import (
    DEFAULT_SEND_GAS,
    build_tx,
    compute_min_fee,
    estimate_fee,
    msg_authz_exec,
    msg_authz_grant,
    msg_authz_revoke,
    msg_feegrant_grant,
    msg_feegrant_revoke,
    msg_multi_send,
    msg_send,
    sign_tx,
)
from voxpop.client.types import AccountInfo, ProvenEntry, QueryResult, StreamEvent
from voxpop.client.verify import expected_query_key, verify_block, verify_entry

__all__ = [
    "DEFAULT_SEND_GAS",
    "DEFAULT_URL",
    "UVOX_PER_VOX",
    "AccountInfo",
    "AmountError",
    "ApiError",
    "AsyncVoxClient",
    "ConflictingHeadersError",
    "LightClient",
    "LightClientError",
    "ListItem",
    "NoPublishedKeysError",
    "NodeUnreachableError",
    "NotFoundError",
    "ProofVerificationError",
    "ProtocolError",
    "ProvenEntry",
    "ProvenList",
    "PublishedKeys",
    "QueryResult",
    "ServerError",
    "StaleResponseError",
    "StreamEvent",
    "TrustOptions",
    "TxRejectedError",
    "TxWaitTimeoutError",
    "VoxClient",
    "VoxClientError",
    "build_tx",
    "compute_min_fee",
    "estimate_fee",
    "expected_query_key",
    "format_vox",
    "msg_authz_exec",
    "msg_authz_grant",
    "msg_authz_revoke",
    "msg_feegrant_grant",
    "msg_feegrant_revoke",
    "msg_multi_send",
    "msg_send",
    "parse_amount",
    "sign_tx",
    "verify_block",
    "verify_entry",
    "verify_list",
]
