"""Command line: ``python -m switchvox_simulator --port 8443 --tls --demo``."""

import argparse
import asyncio
import contextlib
import logging
from pathlib import Path
import signal
import sys
from zoneinfo import ZoneInfo

from .app import start_demo, with_control_api
from .demo import staff_name
from .pbx import TIMESTAMP_FORMATS
from .server import SwitchvoxSimulator
from .wire import SOCKETIO_PATH

_LOGGER = logging.getLogger("switchvox_simulator")


def parse_extensions(text: str) -> list[str]:
    """Parse "101-106" or "101,102,110-112" into a list of extensions."""
    result: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if "-" in part:
            low, high = (int(x) for x in part.split("-", 1))
            if high < low or high - low > 1000:
                raise argparse.ArgumentTypeError(f"bad extension range {part!r}")
            result.extend(str(n) for n in range(low, high + 1))
        elif part.isdigit():
            result.append(part)
        else:
            raise argparse.ArgumentTypeError(f"bad extension {part!r}")
    if not result:
        raise argparse.ArgumentTypeError("no extensions")
    return result


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser."""
    parser = argparse.ArgumentParser(
        prog="python -m switchvox_simulator",
        description="Fake Switchvox PBX speaking the Realtime API (socket.io 1.x, JSON-RPC 2.0).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8443, help="TCP port (0 = any free port)")
    parser.add_argument("--tls", action="store_true", help="serve HTTPS with a self-signed cert")
    parser.add_argument(
        "--cert-dir", type=Path, help="keep/reuse cert.pem and key.pem here (default: temp dir)"
    )
    parser.add_argument("--demo", action="store_true", help="generate random call traffic")
    parser.add_argument(
        "--demo-rate", type=float, default=6.0, help="demo calls per minute (default 6)"
    )
    parser.add_argument(
        "--demo-concurrent", type=int, default=4, help="max concurrent demo calls (default 4)"
    )
    parser.add_argument("--seed", type=int, help="random seed for the demo traffic")
    parser.add_argument(
        "--extensions",
        type=parse_extensions,
        default=parse_extensions("101-106"),
        help='accounts to create, e.g. "101-106" or "101,102,200-205" (default 101-106)',
    )
    parser.add_argument("--password", default="demo", help="password of every account")
    parser.add_argument(
        "--timestamp-format",
        choices=TIMESTAMP_FORMATS,
        default="iso",
        help="startTime/serverTime encoding (default iso)",
    )
    parser.add_argument(
        "--timezone",
        type=ZoneInfo,
        default=ZoneInfo("UTC"),
        help="the PBX's time zone, for the local and iso_offset formats (default UTC)",
    )
    parser.add_argument(
        "--clock-drift",
        type=float,
        default=0.0,
        help="seconds the PBX's clock is off the true time (default 0)",
    )
    parser.add_argument("--ping-interval", type=float, default=25.0, help="Engine.IO ping interval")
    parser.add_argument("--ping-timeout", type=float, default=60.0, help="Engine.IO ping timeout")
    parser.add_argument(
        "--outside-answer-delay",
        type=float,
        default=1.0,
        help="seconds before an outside number answers a dial (default 1)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


async def run(args: argparse.Namespace) -> None:
    """Run the simulator until SIGINT/SIGTERM."""
    sim = with_control_api(
        SwitchvoxSimulator(
            args.host,
            args.port,
            tls=args.tls,
            ping_interval=args.ping_interval,
            ping_timeout=args.ping_timeout,
            timestamp_format=args.timestamp_format,
            timezone=args.timezone,
            clock_drift=args.clock_drift,
            outside_answer_delay=args.outside_answer_delay,
            cert_dir=args.cert_dir,
        )
    )
    for index, extension in enumerate(args.extensions):
        sim.add_account(extension, args.password, staff_name(index))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await sim.start()
    try:
        if args.demo:
            start_demo(
                sim,
                args.extensions,
                calls_per_minute=args.demo_rate,
                max_concurrent=args.demo_concurrent,
                seed=args.seed,
            )
        out = sys.stdout
        out.write(f"Switchvox simulator listening on {sim.url} (socket.io path /{SOCKETIO_PATH})\n")
        out.write(f"  login: extension {args.extensions[0]}, password {args.password!r}")
        out.write(f"  (accounts {', '.join(args.extensions)})\n")
        if sim.cert_path is not None:
            out.write(f"  self-signed certificate: {sim.cert_path}\n")
        out.write(f"  control: {sim.url}/control/state (POST /control/<action>, JSON)\n")
        if args.demo:
            out.write(f"  demo traffic: {args.demo_rate:g} calls/minute\n")
        out.write("Press Ctrl-C to stop.\n")
        out.flush()
        await stop.wait()
    finally:
        await sim.stop()


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
