"""PNG plots of the monthly rows (matplotlib: the `sim` extra)."""

from __future__ import annotations

from pathlib import Path

from voxpop.sim.errors import PlotsUnavailableError
from voxpop.sim.report import MonthRow

VOX = 1_000_000


def write_plots(rows: list[MonthRow], out: Path, prefix: str = "") -> list[Path]:
    """Write the plots into `out`; their paths. Raises PlotsUnavailableError without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlotsUnavailableError(
            "plots need matplotlib: pip install 'voxpop[sim]' (the CSV was written)"
        ) from None
    months = [r.month for r in rows]
    charts = {
        "wallets": (
            "household wallet (VOX)",
            {
                "median": [r.wallet_median for r in rows],
                "10th percentile": [r.wallet_p10 for r in rows],
            },
        ),
        "supply": (
            "VOX per month",
            {
                "issued": [r.issued for r in rows],
                "burned": [r.burned for r in rows],
                "community pool": [r.community_pool for r in rows],
            },
        ),
        "incomes": (
            "VOX per month",
            {
                "providers: income": [r.provider_income for r in rows],
                "providers: cost": [r.provider_cost for r in rows],
                "serving households: income": [
                    r.stt_server_income + r.storage_server_income for r in rows
                ],
                "serving households: cost": [
                    r.stt_server_cost + r.storage_server_cost for r in rows
                ],
                "storage nodes: income": [r.storage_node_income for r in rows],
                "storage nodes: cost": [r.storage_node_cost for r in rows],
                "selling households: data sales": [r.data_earned for r in rows],
            },
        ),
        "households": (
            "households",
            {
                "had to buy": [r.households_bought for r in rows],
                "self-sustaining": [r.self_sustaining for r in rows],
                "serving STT": [r.stt_servers for r in rows],
            },
        ),
    }
    paths = []
    for name, (ylabel, series) in charts.items():
        fig, ax = plt.subplots(figsize=(6, 3.2), dpi=80)
        for label, values in series.items():
            scale = 1 if ylabel == "households" else VOX
            ax.plot(months, [v / scale for v in values], marker="o", markersize=3, label=label)
        ax.set_xlabel("month")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = out / f"{prefix}{name}.png"
        fig.savefig(path, metadata={"Software": None})
        plt.close(fig)
        paths.append(path)
    return paths
