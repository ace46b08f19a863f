"""What the home pages show, as small frozen dataclasses built by pure functions from what the
client reads (`build_*`), with the reads themselves (`read_*`) kept apart so the pure part is
unit-tested without a chain: wallet, data, community, earning."""
