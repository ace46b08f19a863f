"""The storage node: keeps shards of owners' encrypted objects on disk, checked against the roots
the chain committed to, serves them back to their owners, answers the chain's challenges each
epoch and claims its pay (issue 13).

See docs/operations/storage-node.md (running one) and docs/protocol/storage.md (the HTTP API).
"""
