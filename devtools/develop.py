"""``scripts/develop``: the simulator in demo mode and a real, provisioned Home Assistant."""

import argparse
import asyncio
import json
import os
from pathlib import Path
import signal
import sys
import time
from types import FrameType
from typing import Any
import urllib.request

from .instance import (
    DEFAULT_CONFIG_DIR,
    DevInstance,
    configured_port,
    prepare_config,
    say,
    set_port,
)
from .provision import DEV_PASSWORD, DEV_USERNAME, Provisioned, Settings, provision


def expand(text: str) -> list[str]:
    """Expand "101-106" or "101,103" into extensions."""
    result: list[str] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        low, _, high = part.partition("-")
        result += [str(n) for n in range(int(low), int(high or low) + 1)]
    return result


def account_names(sim_url: str) -> dict[str, str]:
    """Return the display name of each simulator account (for the card titles)."""
    with urllib.request.urlopen(f"{sim_url}/control/state", timeout=5) as response:  # noqa: S310
        state: dict[str, Any] = json.load(response)
    return {a["extension"]: a["display_name"] for a in state.get("accounts", [])}


def build_parser() -> argparse.ArgumentParser:
    """Return the command line parser."""
    parser = argparse.ArgumentParser(
        prog="scripts/develop",
        description="Run the Switchvox simulator and a provisioned Home Assistant.",
    )
    parser.add_argument("--port", type=int, help="Home Assistant HTTP port (default 8123)")
    parser.add_argument(
        "--sim-port",
        type=int,
        default=8443,
        help="simulator port (8443; the entry made on the first run keeps it)",
    )
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG_DIR, help="config folder (.develop/config)"
    )
    parser.add_argument(
        "--extensions", default="101-106", help="simulator accounts (default 101-106)"
    )
    parser.add_argument(
        "--watch", default="101-106", help="extensions the entry watches (default 101-106)"
    )
    parser.add_argument("--no-demo", action="store_true", help="no random call traffic")
    parser.add_argument("--demo-rate", type=float, default=6.0, help="demo calls per minute")
    parser.add_argument(
        "--rebuild-dashboard",
        action="store_true",
        help="rebuild the Phones dashboard (discards your edits to it)",
    )
    parser.add_argument(
        "--exit-after-provision",
        action="store_true",
        default=os.environ.get("SWITCHVOX_DEVELOP_EXIT") == "1",
        help="stop once the instance is ready (for CI; or SWITCHVOX_DEVELOP_EXIT=1)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show the processes' logs")
    return parser


def banner(instance: DevInstance, result: Provisioned) -> None:
    """Print where to go and how to log in."""
    say()
    say("Home Assistant with the Switchvox integration is ready:")
    say(f"  dashboard   {result.dashboard_url}")
    say(f"  login       user {DEV_USERNAME!r}, password {DEV_PASSWORD!r}  (development only)")
    say(f"  simulator   {instance.sim_url}/control/state  (POST /control/ring, /control/hang_up)")
    watched = ", ".join(line.extension for line in result.lines)
    say(f"  watching    {watched}")
    if not instance.verbose:
        say(f"  logs        {instance.config_dir / 'home-assistant.log'}")
        say(f"              {instance.log_dir / 'simulator.log'}")
    say("Press Ctrl-C to stop both.")


def _terminate(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into the same clean stop as Ctrl-C."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Run the development instance until Ctrl-C."""
    args = build_parser().parse_args(argv)
    config_dir: Path = args.config.resolve()
    new = not (config_dir / "configuration.yaml").exists()
    port = args.port or configured_port(config_dir, 8123)
    prepare_config(config_dir, port)
    if args.port and configured_port(config_dir, args.port) != args.port:
        set_port(config_dir, args.port)
    instance = DevInstance(
        config_dir=config_dir,
        ha_port=port,
        sim_port=args.sim_port,
        extensions=args.extensions,
        demo=not args.no_demo,
        demo_rate=args.demo_rate,
        verbose=args.verbose,
    )
    # Ctrl-C and SIGTERM stop both children cleanly (even when started with SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    started = time.monotonic()
    try:
        say(f"==> {'creating' if new else 'reusing'} the instance in {config_dir}")
        say(f"==> starting the simulator on :{args.sim_port} and Home Assistant on :{port}")
        instance.start()
        settings = Settings(
            ha_url=instance.ha_url,
            sim_port=args.sim_port,
            login_extension=expand(args.extensions)[0],
            extensions=expand(args.watch),
            names=account_names(instance.sim_url),
            rebuild_dashboard=args.rebuild_dashboard,
        )
        result = asyncio.run(provision(settings))
        say(f"==> ready in {time.monotonic() - started:.0f} s")
        banner(instance, result)
        if args.exit_after_provision:
            return 0
        while True:
            time.sleep(1)
            instance.check_alive()
    except KeyboardInterrupt:
        say("\n==> stopping Home Assistant and the simulator")
        return 0
    except (RuntimeError, TimeoutError) as err:
        say(f"error: {err}")
        return 1
    finally:
        instance.stop()


if __name__ == "__main__":
    sys.exit(main())
