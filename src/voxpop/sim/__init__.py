"""An agent-based simulation of a year of the network, on the real state machine (issue 19).

`simulate(params)` builds a world (households, providers, storage nodes, validators and
delegators, registrars, skill creators, governance) on a real VoxApp in a scratch directory and
drives it block by block; every on-chain action is a signed tx through the real modules.
"""

from voxpop.sim.errors import SimConfigError, SimError, SimInvariantError, SimTxError
from voxpop.sim.params import SimParams, load_params, make_params
from voxpop.sim.report import MonthRow, to_csv
from voxpop.sim.run import RunResult, run_to_dir, simulate

__all__ = [
    "MonthRow",
    "RunResult",
    "SimConfigError",
    "SimError",
    "SimInvariantError",
    "SimParams",
    "SimTxError",
    "load_params",
    "make_params",
    "run_to_dir",
    "simulate",
    "to_csv",
]
