"""The re-encryption (privacy) node role: `voxpop privacy start` (docs/operations/privacy-node.md).

It holds, per access grant that names it, one sealed key fragment and the grant's kits; a
grantee's signed, paid access request gets its capsule fragment and a signed attestation, after
a proven read of the grant shows it live, covering the object, with accesses left. Answers are
recorded on chain in one batched consent/Record per block.
"""
