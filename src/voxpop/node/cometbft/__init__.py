"""Running a node under CometBFT. Each concern has its file:

    binary.py      find_cometbft, check_cometbft_version, CometBFTError
    config.py      CometSettings (from our config.toml), cometbft_config (CometBFT's config.toml)
    genesis.py     cometbft_genesis (CometBFT's genesis.json from ours), GenesisError
    home.py        prepare_cometbft_home: HOME/cometbft, its layout, `cometbft init`
    supervisor.py  run_cometbft_node: the ABCI server and the supervised `cometbft start`
    rpc.py         CometBFT's JSON-RPC client and the decoding of its answers, CometRPCError
    service.py     CometNodeService, the NodeService the HTTP API uses over that RPC
    __main__.py    `python -m voxpop.node.cometbft --home HOME` (what a testnet node runs)

See docs/operations/cometbft.md.
"""
