"""The provider gateway: sells one service kind for paid calls (issue 9, M11).

See docs/operations/provider.md (running one) and docs/protocol/provider-api.md (the HTTP protocol).
"""
