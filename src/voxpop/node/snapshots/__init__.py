"""State sync snapshots: format (format.py, spec in docs/protocol/snapshots.md), the kept
snapshots on disk (disk.py), taking (take.py), restoring (restore.py), what the ABCI server calls
(service.py), and the light client check of a restored app hash (light_check.py)."""
