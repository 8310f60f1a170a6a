"""Run the benchmarks: ``python -m benchmarks [--smoke] [--runs N] [--only SCENARIO ...]``.

This process hosts the simulator; every run of every scenario starts a fresh worker process
(``benchmarks.worker``) with a real Home Assistant core, and a fresh simulator. Each figure is
the median over the runs. The table is printed and written to ``benchmarks/results.json``.

``--against REV`` measures this tree's integration and another commit's side by side instead
(see :mod:`benchmarks.compare`), written to ``benchmarks/compare.json``.
"""

import argparse
import asyncio
from collections.abc import Callable
import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
import json
import logging
import os
from pathlib import Path
import platform
import shutil
import statistics
import sys
import time
from typing import Any

from switchvox_simulator import SwitchvoxSimulator
from switchvox_simulator.load import LoadGenerator, add_accounts, run_calls

from .protocol import PASSWORD, extensions

RESULTS = Path(__file__).with_name("results.json")
# Smoke runs (CI) must not overwrite the committed full results; *.tmp is git-ignored here.
SMOKE_RESULTS = Path(__file__).with_name("results-smoke.json.tmp")
WORKER_TIMEOUT = 900.0

type Options = dict[str, Any]

LAYER_NAMES = {
    "transport_and_loop": "transport+loop",
    "parsing_model": "parsing",
    "line_tracking": "tracking",
    "bus_event": "bus event",
    "state_writes": "state writes",
    "garbage_collection": "GC",
}
SCENARIOS = ("latency", "throughput", "scale", "reconnect", "recorder", "layers", "burst")


@dataclass(frozen=True)
class Plan:
    """What to run: scenario options and runs, full or smoke."""

    runs: int
    latency: Options
    throughput: Options
    scale_sizes: tuple[int, ...]
    reconnect: Options
    recorder: Options
    layers: Options
    burst: Options


FULL = Plan(
    runs=3,
    latency={"extensions": 100, "rate": 200, "seconds": 10.0, "warmup": 2.0},
    throughput={
        "extensions": 1000,
        "start": 2000,
        "seconds": 4.0,
        "limit": 80000,
        "refine": 2,
        "bare_updates": 50000,
        "bare_repeats": 3,
    },
    # 4,999: Home Assistant (2026.10) enables at most 10,000 entities per config entry, and an
    # entry has two per extension and one of its own.
    scale_sizes=(10, 100, 1000, 4999),
    reconnect={"extensions": 1000, "repeats": 3, "refused_for": 0.0},
    recorder={"extensions": 100, "rate": 200, "calls": 600, "warmup_calls": 100},
    layers={"extensions": 1000, "rate": 4000, "seconds": 4.0},
    burst={"extensions": 1000, "counts": [3000, 5000]},
)

SMOKE = Plan(
    runs=1,
    latency={"extensions": 10, "rate": 200, "seconds": 1.0, "warmup": 0.3},
    throughput={
        "extensions": 50,
        "start": 1000,
        "seconds": 0.5,
        "limit": 2000,
        "refine": 0,
        "bare_updates": 5000,
        "bare_repeats": 1,
    },
    scale_sizes=(10, 100),
    reconnect={"extensions": 10, "repeats": 1, "refused_for": 0.0},
    recorder={"extensions": 10, "rate": 200, "calls": 40, "warmup_calls": 10},
    layers={"extensions": 50, "rate": 1000, "seconds": 0.5},
    burst={"extensions": 50, "counts": [500]},
)


class WorkerError(RuntimeError):
    """A worker process failed."""


async def run_worker(scenario: str, opts: Options, cwd: Path | None = None) -> dict[str, Any]:
    """Run one scenario in a fresh worker against a fresh simulator; return its result.

    The worker imports ``benchmarks`` and ``custom_components`` from ``cwd`` (default: here).
    """
    watched = extensions(opts["extensions"])
    sim = SwitchvoxSimulator("127.0.0.1", 0)
    add_accounts(sim, watched, PASSWORD)
    await sim.start()
    generators: dict[int, LoadGenerator] = {}
    command = [sys.executable, "-m", "benchmarks.worker", scenario, json.dumps(opts)]
    if profile := os.environ.get("BENCH_PYSPY"):
        # Sample the worker with py-spy (collapsed stacks) for profiling, not for figures.
        output = f"{profile}-{scenario}-{opts['extensions']}-{time.time_ns()}.txt"
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        command = [py_spy, "record", "--format", "raw", "-r", "500", "-o", output, "--", *command]
    proc = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=1 << 24,
        cwd=cwd,
    )
    assert proc.stdin is not None  # noqa: S101
    assert proc.stdout is not None  # noqa: S101
    assert proc.stderr is not None  # noqa: S101
    stderr_task = asyncio.create_task(proc.stderr.read())
    result: dict[str, Any] | None = None
    try:
        async with asyncio.timeout(WORKER_TIMEOUT):
            while (line := await proc.stdout.readline()) and result is None:
                if not line.startswith(b"{"):
                    continue  # py-spy's own chatter when profiling
                message = json.loads(line)
                op = message.pop("op")
                if op == "result":
                    result = message["result"]
                    break
                reply = await _serve(sim, generators, watched, op, message)
                proc.stdin.write((json.dumps(reply) + "\n").encode())
                await proc.stdin.drain()
        proc.stdin.close()
        await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await sim.stop()
    stderr = (await stderr_task).decode(errors="replace")
    if result is None:
        raise WorkerError(f"{scenario} worker failed ({proc.returncode}):\n{stderr[-4000:]}")
    return result


async def _serve(
    sim: SwitchvoxSimulator,
    generators: dict[int, LoadGenerator],
    watched: list[str],
    op: str,
    message: dict[str, Any],
) -> dict[str, Any]:
    """Act on the simulator for the worker."""
    if op == "hello":
        return {"port": sim.port}
    if op == "stream":
        count = int(message["extensions"])
        generator = generators.get(count)
        if generator is None:
            generator = generators[count] = LoadGenerator(sim, watched[:count])
        sent = await generator.stream(float(message["rate"]), float(message["seconds"]))
        return sent.as_dict()
    if op == "calls":
        calls = await run_calls(
            sim,
            watched,
            int(message["calls"]),
            float(message["rate"]),
            first=int(message["first"]),
        )
        return calls.as_dict()
    if op == "burst":
        count = int(message["extensions"])
        generator = generators.get(count)
        if generator is None:
            generator = generators[count] = LoadGenerator(sim, watched[:count])
        burst = int(message["count"])
        # Due all at once, sent in one go: no pause between the notifications.
        sent = await generator.stream(burst * 1000.0, 0.001, batch_max=burst)
        return sent.as_dict()
    if op == "outage":
        sim.set_accepting(False)
        await sim.drop_connections()
        return {}
    if op == "accept":
        stamp = time.monotonic_ns()
        sim.set_accepting(True)
        return {"t_ns": stamp}
    if op == "subscriptions":
        subscribed = sim.subscriptions
        return {"count": sum(1 for extension in watched if subscribed.get(extension))}
    raise ValueError(f"Unknown op {op!r}")


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _medians(runs: list[dict[str, Any]], *path: str) -> float:
    values: list[float] = []
    for run in runs:
        value: Any = run
        for key in path:
            value = value[key]
        values.append(float(value))
    return _median(values)


async def run_all(plan: Plan, only: set[str], log: Callable[[str], None]) -> dict[str, Any]:
    """Run the plan's scenarios and return the raw runs and the median figures."""
    results: dict[str, Any] = {}
    runs = plan.runs

    async def repeat(scenario: str, options: Options, label: str = "") -> list[dict[str, Any]]:
        """Run ``scenario`` once per run, each in a fresh worker; return the results."""
        done = []
        for index in range(runs):
            log(f"{label or scenario} run {index + 1}/{runs}")
            done.append(await run_worker(scenario, options))
        return done

    if "latency" in only:
        latency = await repeat("latency", plan.latency)
        results["latency"] = {
            "options": plan.latency,
            "runs": latency,
            "raw": {key: _medians(latency, "raw", key) for key in ("p50_ms", "p99_ms", "max_ms")},
            "integration": {
                key: _medians(latency, "integration", key) for key in ("p50_ms", "p99_ms", "max_ms")
            },
        }
    if "throughput" in only:
        throughput = await repeat("throughput", plan.throughput)
        integration = _medians(throughput, "integration", "sustained_rate")
        bare = _medians(throughput, "bare_state_writes_per_s")
        results["throughput"] = {
            "options": plan.throughput,
            "runs": throughput,
            "transport_rate": _medians(throughput, "transport", "sustained_rate"),
            "integration_rate": integration,
            "integration_gc_frozen_rate": _medians(
                throughput, "integration_gc_frozen", "sustained_rate"
            ),
            "integration_all_events_listener_rate": _medians(
                throughput, "integration_all_events_listener", "sustained_rate"
            ),
            "bare_state_writes_per_s": bare,
            "ratio": integration / bare if bare else 0.0,
        }
    if "scale" in only:
        scale: dict[str, Any] = {}
        for size in plan.scale_sizes:
            size_runs = await repeat("scale", {"extensions": size}, f"scale {size}")
            scale[str(size)] = {
                "runs": size_runs,
                "setup_s": _medians(size_runs, "setup_s"),
                "rss_added_mb": _medians(size_runs, "rss_added_mb"),
                "subscribed": min(run["subscribed"] for run in size_runs),
            }
        results["scale"] = scale
    if "reconnect" in only:
        reconnect_runs = [
            run for result in await repeat("reconnect", plan.reconnect) for run in result["runs"]
        ]
        results["reconnect"] = {
            "options": plan.reconnect,
            "runs": reconnect_runs,
            **{
                key: _median([run[key] for run in reconnect_runs])
                for key in ("reconnect_s", "backoff_wait_s", "session_s")
            },
            "subscribed": min(run["subscribed"] for run in reconnect_runs),
        }
    if "recorder" in only:
        recorder_runs = await repeat("recorder", plan.recorder)
        results["recorder"] = {
            "options": plan.recorder,
            "runs": recorder_runs,
            **{
                side: {
                    "per_call": {
                        key: _medians(recorder_runs, side, "per_call", key)
                        for key in ("rows", "bytes", "json")
                    },
                    "tables": {
                        table: {
                            key: _medians(recorder_runs, side, "per_call", "tables", table, key)
                            for key in ("rows", "bytes", "json")
                        }
                        for table in recorder_runs[0][side]["per_call"]["tables"]
                    },
                    "latency": {
                        key: _medians(recorder_runs, side, "latency", key)
                        for key in ("p50_ms", "p99_ms", "max_ms")
                    },
                    "received": min(run[side]["received"] for run in recorder_runs),
                    "sent": max(run[side]["sent"] for run in recorder_runs),
                }
                for side in ("baseline", "integration")
            },
        }
    if "layers" in only:
        layer_runs = await repeat("layers", plan.layers)
        results["layers"] = {
            "options": plan.layers,
            "runs": layer_runs,
            "raw_client_us": _medians(layer_runs, "raw_client_us"),
            "total_us": _medians(layer_runs, "total_us"),
            "layers_us": {
                layer: _medians(layer_runs, "layers_us", layer)
                for layer in layer_runs[0]["layers_us"]
            },
            "with_all_events_listener": {
                key: _medians(layer_runs, "with_all_events_listener", key)
                for key in ("total_us", "garbage_collection_us")
            },
        }
    if "burst" in only:
        burst_runs = await repeat("burst", plan.burst)
        results["burst"] = {
            "options": plan.burst,
            "runs": burst_runs,
            **{
                str(count): {
                    key: _medians(burst_runs, str(count), key)
                    for key in (
                        "longest_step_ms",
                        "longest_step_cpu_ms",
                        "longest_step_cpu_without_gc_ms",
                        "longest_gc_ms",
                        "all_right_s",
                    )
                }
                | {"received": min(run[str(count)]["received"] for run in burst_runs)}
                for count in plan.burst["counts"]
            },
        }
    return results


def table(results: dict[str, Any], *, smoke: bool) -> list[tuple[str, str, str, str]]:
    """Return (figure, value, baseline/floor, target) rows."""
    rows: list[tuple[str, str, str, str]] = []

    def target(text: str, met: bool) -> str:
        return "n/a (smoke)" if smoke else f"{text} {'met' if met else 'NOT met'}"

    if latency := results.get("latency"):
        raw, integ = latency["raw"], latency["integration"]
        rate = latency["options"]["rate"]
        rows.append(
            (
                f"latency @ {rate}/s p50 / p99 / max",
                f"{integ['p50_ms']:.2f} / {integ['p99_ms']:.2f} / {integ['max_ms']:.2f} ms",
                f"raw client {raw['p50_ms']:.2f} / {raw['p99_ms']:.2f} / {raw['max_ms']:.2f} ms",
                target(
                    "p99 <= 5 ms, <= raw + 2 ms:",
                    integ["p99_ms"] <= 5 and integ["p99_ms"] <= raw["p99_ms"] + 2,
                ),
            )
        )
    if throughput := results.get("throughput"):
        count = throughput["options"]["extensions"]
        rows.append(
            (
                f"sustained notifications/s, {count} extensions",
                f"{throughput['integration_rate']:,.0f}/s",
                f"raw client {throughput['transport_rate']:,.0f}/s",
                target(">= 10,000/s:", throughput["integration_rate"] >= 10000),
            )
        )
        rows.append(
            (
                "  same, a listener of all events (as the recorder's)",
                f"{throughput['integration_all_events_listener_rate']:,.0f}/s",
                "as in any install with the recorder",
                "",
            )
        )
        rows.append(
            (
                "  same, HA heap frozen (gc.freeze)",
                f"{throughput['integration_gc_frozen_rate']:,.0f}/s",
                "no full collections of HA's heap",
                "",
            )
        )
        bare = throughput["bare_state_writes_per_s"]
        rows.append(
            (
                "integration / bare async_set",
                f"{throughput['ratio']:.3f}x",
                f"async_set {bare:,.0f}/s; raw client "
                f"{throughput['transport_rate'] / bare if bare else 0:.3f}x",
                target(">= 0.5x:", throughput["ratio"] >= 0.5),
            )
        )
    for size, figures in results.get("scale", {}).items():
        size_target = ""
        met = figures["subscribed"] == int(size)
        if size == "1000":
            size_target = "<= 3 s, <= 20 MB:"
            met = met and figures["setup_s"] <= 3 and figures["rss_added_mb"] <= 20
        elif size == "4999":
            size_target = "works:"
        rows.append(
            (
                f"setup, {size} extensions",
                f"{figures['setup_s']:.2f} s, +{figures['rss_added_mb']:.1f} MB",
                f"{figures['subscribed']} subscribed",
                target(size_target, met) if size_target else "",
            )
        )
    if reconnect := results.get("reconnect"):
        rows.append(
            (
                f"reconnect, {reconnect['options']['extensions']} extensions",
                f"{reconnect['reconnect_s']:.2f} s",
                f"backoff wait {reconnect['backoff_wait_s']:.2f} s"
                f" + session {reconnect['session_s']:.2f} s",
                target("<= 1 s:", reconnect["reconnect_s"] <= 1),
            )
        )
    if recorder := results.get("recorder"):
        integ, base = recorder["integration"], recorder["baseline"]
        base_bytes = base["per_call"]["bytes"]
        ratio = integ["per_call"]["bytes"] / base_bytes if base_bytes else 0.0
        rows.append(
            (
                "database per call (recorder, SQLite): bytes, rows",
                f"{integ['per_call']['bytes']:,.0f} B, {integ['per_call']['rows']:.1f} rows"
                f" ({ratio:.1f}x)",
                f"minimal call monitor {base['per_call']['bytes']:,.0f} B,"
                f" {base['per_call']['rows']:.1f} rows",
                target("<= 2x baseline:", ratio <= 2),
            )
        )
        lat, base_lat = integ["latency"], base["latency"]
        rate = recorder["options"]["rate"]
        rows.append(
            (
                f"latency with recorder @ {rate}/s p50 / p99 / max",
                f"{lat['p50_ms']:.2f} / {lat['p99_ms']:.2f} / {lat['max_ms']:.2f} ms",
                f"minimal call monitor {base_lat['p50_ms']:.2f} / {base_lat['p99_ms']:.2f}"
                f" / {base_lat['max_ms']:.2f} ms",
                target("p99 <= 5 ms:", lat["p99_ms"] <= 5),
            )
        )
    if layers := results.get("layers"):
        shares = layers["layers_us"]
        rows.append(
            (
                f"µs per notification, {layers['options']['extensions']} extensions",
                f"{layers['total_us']:.0f} µs: "
                + ", ".join(
                    f"{LAYER_NAMES.get(name, name)} {value:.0f}" for name, value in shares.items()
                ),
                f"bare socket.io client {layers['raw_client_us']:.1f} µs",
                "",
            )
        )
        listened = layers["with_all_events_listener"]
        rows.append(
            (
                "  same, a listener of all events (as the recorder's)",
                f"{listened['total_us']:.0f} µs, GC {listened['garbage_collection_us']:.0f}",
                "as in any install with the recorder",
                "",
            )
        )
    if burst := results.get("burst"):
        for count in burst["options"]["counts"]:
            figures = burst[str(count)]
            rows.append(
                (
                    f"burst of {count:,} notifications at once,"
                    f" {burst['options']['extensions']} extensions",
                    f"longest loop step {figures['longest_step_ms']:.1f} ms"
                    f" (CPU {figures['longest_step_cpu_ms']:.1f} ms, without GC"
                    f" {figures['longest_step_cpu_without_gc_ms']:.1f} ms),"
                    f" every line right after {figures['all_right_s']:.2f} s",
                    f"{figures['received']:,.0f} of {count:,} states written;"
                    f" longest GC pause {figures['longest_gc_ms']:.1f} ms",
                    target(
                        "step CPU without GC <= 50 ms:",
                        figures["longest_step_cpu_without_gc_ms"] <= 50
                        and figures["received"] >= count,
                    ),
                )
            )
    return rows


def format_table(rows: list[tuple[str, str, str, str]]) -> str:
    """Return the rows as a Markdown table."""
    header = ("figure", "integration", "baseline / detail", "target")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]

    def line(cells: tuple[str, str, str, str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    separator = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(header), separator, *(line(row) for row in rows)])


def machine() -> dict[str, Any]:
    """Describe the machine the figures come from."""
    cpu = platform.processor() or platform.machine()
    try:
        for text in Path("/proc/cpuinfo").read_text(encoding="ascii").splitlines():
            if text.startswith("model name"):
                cpu = text.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def main() -> None:
    """Parse arguments, run, print and save."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="small counts, quick, no targets")
    parser.add_argument("--runs", type=int, help="runs per figure (median); default 3, smoke 1")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=SCENARIOS,
        default=list(SCENARIOS),
    )
    parser.add_argument(
        "--against",
        "--compare",
        nargs="+",
        metavar="REV",
        help="measure this tree and each commit REV side by side (latency, throughput, setup "
        "and memory of 1,000 extensions, reconnect), repeats interleaved; a REV may also be a "
        "directory holding a custom_components",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help=f"where to write the JSON (default {RESULTS.name}; smoke: {SMOKE_RESULTS.name})",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.against:
        from .compare import compare

        compare(
            args.against,
            run_worker,
            machine(),
            smoke=args.smoke,
            runs=args.runs,
            output=args.output,
            only=set(args.only),
        )
        return
    plan = SMOKE if args.smoke else FULL
    output: Path = args.output or (SMOKE_RESULTS if args.smoke else RESULTS)
    if args.runs:
        plan = dataclasses.replace(plan, runs=args.runs)
    started = time.monotonic()

    def log(text: str) -> None:
        print(f"[{time.monotonic() - started:6.1f} s] {text}", file=sys.stderr, flush=True)

    results = asyncio.run(run_all(plan, set(args.only), log))
    rows = table(results, smoke=args.smoke)
    document = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "smoke" if args.smoke else "full",
        "runs": plan.runs,
        "seconds": round(time.monotonic() - started, 1),
        "machine": machine(),
        "table": [
            dict(zip(("figure", "value", "baseline", "target"), row, strict=True)) for row in rows
        ],
        "results": results,
    }
    output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(format_table(rows))
    print(f"\n{document['mode']} run in {document['seconds']} s; written to {output}")


if __name__ == "__main__":
    main()
