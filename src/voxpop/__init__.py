"""voxpop: a decentralized backend for open voice assistants."""

__version__ = "0.1.0"
