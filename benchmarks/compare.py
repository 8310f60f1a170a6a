"""This tree's integration and other commits', side by side (``--against REV [REV ...]``).

Absolute figures swing widely between machines and hours, so a change is judged against
its base in one run. Each REV's ``custom_components`` is checked out (``git archive``, which leaves
the repository untouched) into a temporary directory next to a link to this tree's
``benchmarks``: every side runs the same worker code and scenarios, and only the integration
differs. Each repeat runs every side back to back, in reverse order every other time, so that
all see the same load on a shared machine. Every figure is given as the median and the range of
its repeats.
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
import contextlib
from datetime import UTC, datetime
import io
import json
from pathlib import Path
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from typing import Any

type Options = dict[str, Any]
type Worker = Callable[[str, Options, Path | None], Awaitable[dict[str, Any]]]

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).with_name("compare.json")
SMOKE_RESULTS = Path(__file__).with_name("compare-smoke.json.tmp")

FULL: dict[str, Options] = {
    "latency": {"extensions": 100, "rate": 200, "seconds": 10.0, "warmup": 2.0, "raw": False},
    "throughput": {
        "extensions": 1000,
        "start": 2000,
        "seconds": 4.0,
        "limit": 80000,
        "refine": 2,
        "transport": False,
        "variants": False,
        "all_events": True,
    },
    "scale": {"extensions": 1000},
    "reconnect": {"extensions": 1000, "repeats": 3, "refused_for": 0.0},
}
SMOKE: dict[str, Options] = {
    "latency": {"extensions": 10, "rate": 200, "seconds": 1.0, "warmup": 0.3, "raw": False},
    "throughput": {
        "extensions": 50,
        "start": 1000,
        "seconds": 0.5,
        "limit": 2000,
        "refine": 0,
        "transport": False,
        "variants": False,
    },
    "scale": {"extensions": 50},
    "reconnect": {"extensions": 10, "repeats": 1, "refused_for": 0.0},
}

# (key, label, unit, floor, higher is better), each read from a scenario's runs by FIGURES.
ROWS: tuple[tuple[str, str, str, float, bool], ...] = (
    ("rate", "sustained notifications/s, {throughput} extensions", "/s", 10000, True),
    (
        "rate_all_events",
        "the same, with a listener of all events (as in any install with the recorder)",
        "/s",
        10000,
        True,
    ),
    ("p99_ms", "latency p99 @ {rate}/s, {latency} extensions", " ms", 1.5, False),
    ("setup_s", "setup, {scale} extensions", " s", 1.0, False),
    ("rss_added_mb", "memory added, {scale} extensions", " MB", 20.0, False),
    ("reconnect_s", "reconnect, {reconnect} extensions", " s", 1.0, False),
)


def figures(scenario: str, result: dict[str, Any]) -> dict[str, list[float]]:
    """Return the compared figures of one worker run of ``scenario``."""
    if scenario == "throughput":
        rates = {"rate": [result["integration"]["sustained_rate"]]}
        if (all_events := result.get("integration_all_events_listener")) is not None:
            rates["rate_all_events"] = [all_events["sustained_rate"]]
        return rates
    if scenario == "latency":
        return {"p99_ms": [result["integration"]["p99_ms"]]}
    if scenario == "scale":
        return {"setup_s": [result["setup_s"]], "rss_added_mb": [result["rss_added_mb"]]}
    return {"reconnect_s": [run["reconnect_s"] for run in result["runs"]]}


@contextlib.contextmanager
def checkout(rev: str) -> Iterator[tuple[Path, str]]:
    """Yield a worker directory running REV's integration with this tree's benchmarks and tools.

    REV is a commit, or a directory holding a ``custom_components`` (an experiment's copy).
    """
    with tempfile.TemporaryDirectory(prefix="switchvox-compare-") as tmp:
        side = Path(tmp)
        if (Path(rev) / "custom_components").is_dir():
            (side / "custom_components").symlink_to(Path(rev).resolve() / "custom_components")
            commit = rev
        else:
            commit = _git("rev-parse", "--short", "--verify", f"{rev}^{{commit}}").decode().strip()
            archive = _git("archive", "--format=tar", commit, "custom_components")
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(side, filter="data")
        for shared in ("benchmarks", "devtools", "switchvox_simulator"):  # this tree's, not REV's
            (side / shared).symlink_to(ROOT / shared, target_is_directory=True)
        yield side, commit


def _git(*args: str) -> bytes:
    """Run git in this tree and return its output."""
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True).stdout  # noqa: S603, S607


def _label(rev: str, commit: str) -> str:
    """Return how a side is named: REV, with its commit when REV is a name."""
    return rev if commit in (rev, rev[: len(commit)]) else f"{rev} ({commit})"


async def run_sides(
    plan: dict[str, Options],
    runs: int,
    sides: dict[str, Path | None],
    worker: Worker,
    log: Callable[[str], None],
) -> dict[str, dict[str, list[float]]]:
    """Run each scenario ``runs`` times per side, reversing the order of the sides each time."""
    collected: dict[str, dict[str, list[float]]] = {name: {} for name in sides}
    names = list(sides)
    for scenario, options in plan.items():
        for index in range(runs):
            for name in names if index % 2 == 0 else names[::-1]:
                log(f"{scenario} run {index + 1}/{runs}: {name}")
                result = await worker(scenario, options, sides[name])
                for key, values in figures(scenario, result).items():
                    collected[name].setdefault(key, []).extend(values)
    return collected


def summary(values: list[float]) -> dict[str, Any]:
    """Return the median, range and values of a figure's repeats."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "values": values,
    }


def format_value(value: float, unit: str) -> str:
    """Return a figure as the table shows it."""
    if unit == "/s":
        return f"{value:,.0f}/s"
    return f"{value:.2f}{unit}" if unit != " MB" else f"{value:.1f}{unit}"


def table(
    results: dict[str, dict[str, dict[str, Any]]], plan: dict[str, Options], names: list[str]
) -> list[tuple[str, ...]]:
    """Return (figure, side..., floor) rows: median [min to max] of each side."""
    sizes = {scenario: options["extensions"] for scenario, options in plan.items()}
    rate = plan["latency"]["rate"] if "latency" in plan else None
    rows: list[tuple[str, ...]] = []
    for key, label, unit, floor, higher in ROWS:
        if key not in results[names[0]]:
            continue  # a scenario left out (--only)
        cells = []
        for name in names:
            figure = results[name][key]
            cells.append(
                f"{format_value(figure['median'], unit)} "
                f"[{format_value(figure['min'], unit).removesuffix(unit)}"
                f"\N{EN DASH}{format_value(figure['max'], unit)}]"
            )
        limit = f"{'>=' if higher else '<='} {format_value(floor, unit)}"
        rows.append((label.format(rate=rate, **sizes), *cells, limit))
    return rows


def format_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """Return the rows as a Markdown table."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    separator = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), separator, *(line(row) for row in rows)])


def compare(
    revs: list[str],
    worker: Worker,
    machine: dict[str, Any],
    *,
    smoke: bool = False,
    runs: int | None = None,
    output: Path | None = None,
    only: set[str] | None = None,
) -> None:
    """Measure this tree and each of ``revs`` side by side; print the table and write the JSON."""
    plan = {
        scenario: options
        for scenario, options in (SMOKE if smoke else FULL).items()
        if only is None or scenario in only
    }
    runs = runs or (1 if smoke else 3)
    output = output or (SMOKE_RESULTS if smoke else RESULTS)
    started = time.monotonic()

    def log(text: str) -> None:
        print(f"[{time.monotonic() - started:6.1f} s] {text}", file=sys.stderr, flush=True)

    this = _git("rev-parse", "--short", "HEAD").decode().strip()
    if _git("status", "--porcelain", "--untracked-files=no", "custom_components").strip():
        this += "+changes"  # the tree as it is, not its commit
    with contextlib.ExitStack() as stack:
        sides: dict[str, Path | None] = {f"this tree, {this}": None}
        for rev in revs:
            side, commit = stack.enter_context(checkout(rev))
            sides[_label(rev, commit)] = side
        collected = asyncio.run(run_sides(plan, runs, sides, worker, log))
    results = {
        name: {key: summary(values) for key, values in figures_.items()}
        for name, figures_ in collected.items()
    }
    names = list(sides)
    rows = table(results, plan, names)
    header = ("figure", *(f"{name}: median [range]" for name in names), "floor")
    document = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "smoke" if smoke else "full",
        "runs": runs,
        "interleaved": True,
        "seconds": round(time.monotonic() - started, 1),
        "machine": machine,
        "sides": names,
        "plan": plan,
        "table": [dict(zip(header, row, strict=True)) for row in rows],
        "results": results,
    }
    output.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(format_table(header, rows))
    print(
        f"\n{document['mode']} comparison, {runs} interleaved runs per side, in "
        f"{document['seconds']} s; written to {output}"
    )
