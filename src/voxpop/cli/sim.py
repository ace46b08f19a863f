"""`voxpop sim`: a simulated year of the network on the real state machine (issue 19)."""

from __future__ import annotations

from pathlib import Path

import typer

from voxpop.cli.output import OutputFormat, OutputOption, emit, fail
from voxpop.sim.errors import PlotsUnavailableError, SimError
from voxpop.sim.params import load_params
from voxpop.sim.plots import write_plots
from voxpop.sim.report import write_csv
from voxpop.sim.run import CSV_NAME, simulate
from voxpop.sim.sybil import SybilParams, run_sybil

sim_app = typer.Typer(
    no_args_is_help=True,
    help="Simulate the network's economics on the real state machine (no network).",
)


@sim_app.command("run")
def run(
    households: int | None = typer.Option(None, "--households", help="households (default 1000)"),
    days: int | None = typer.Option(None, "--days", help="simulated days (default 365)"),
    seed: int | None = typer.Option(None, "--seed", help="the world's seed (default 1)"),
    params: Path | None = typer.Option(None, "--params", help="JSON file of parameters"),
    out: Path = typer.Option(Path("sim-out"), "--out", help="directory for months.csv and plots"),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="PNG plots (needs matplotlib)"),
    output: OutputFormat = OutputOption,
) -> None:
    """Run the simulation; write OUT/months.csv (one row per month) and PNG plots."""
    try:
        config = load_params(params, households=households, days=days, seed=seed)
        result = simulate(config)
    except SimError as exc:
        fail(exc.code, exc.message, output)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(result.rows, out / CSV_NAME)
    written = [str(out / CSV_NAME)]
    if plots:
        try:
            written += [str(x) for x in write_plots(result.rows, out)]
        except PlotsUnavailableError as exc:
            fail(exc.code, exc.message, output)
    last = result.rows[-1]
    emit(
        {
            "blocks": result.blocks,
            "wall_s": f"{result.wall_seconds:.1f}",
            "households": config.households,
            "days": config.days,
            "supply": last.supply,
            "wallet_median": last.wallet_median,
            "idle_share": last.idle_share,
            "written": written,
        },
        output,
    )


@sim_app.command("sybil")
def sybil(
    quota: int = typer.Option(
        200, "--quota", help="the registrar's claims per day (the chain's default)"
    ),
    grant: int = typer.Option(10_000_000, "--grant", help="uvox per sign-up grant"),
    detection_days: int = typer.Option(
        1, "--detection-days", help="days until a removal is proposed"
    ),
    voting_days: int = typer.Option(2, "--voting-days", help="governance's voting period"),
    seed: int = typer.Option(1, "--seed"),
    output: OutputFormat = OutputOption,
) -> None:
    """A compromised registrar until governance removes it: what the attacker gains."""
    try:
        result = run_sybil(
            SybilParams(
                seed=seed,
                grant_amount=grant,
                registrar_quota=quota,
                detection_days=detection_days,
                voting_days=voting_days,
            )
        )
    except SimError as exc:
        fail(exc.code, exc.message, output)
    emit({k: getattr(result, k) for k in result.__dataclass_fields__}, output)
