"""`python -m voxpop.sim`: the same commands as `voxpop sim`."""

from voxpop.cli.sim import sim_app

if __name__ == "__main__":
    sim_app(prog_name="python -m voxpop.sim")
