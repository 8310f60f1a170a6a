"""The ``aioswitchvox`` command line: check a PBX, watch its lines, dial, capture what it sends.

For a Switchvox admin before installing anything that uses the API, and for bug reports. The
password is read with getpass (or from an environment variable, or stdin, for scripts), never
from the command line, and is neither printed nor logged.
"""

import argparse
import asyncio
from collections.abc import Callable, Sequence
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
import getpass
import importlib.metadata
import json
import logging
import os
from pathlib import Path
import signal
import sys
from typing import Any, TextIO

from .client import DEFAULT_PORT, SwitchvoxClient
from .exceptions import (
    SwitchvoxConnectionError,
    SwitchvoxError,
    SwitchvoxLoginNotAllowedError,
    SwitchvoxLoginRefusedError,
    SwitchvoxNotAuthorizedError,
    SwitchvoxRequestNotAllowedError,
    SwitchvoxSessionExpiredError,
    SwitchvoxTimeoutError,
    SwitchvoxTLSError,
)
from .lines import Line, LineChange
from .models import LineStatus
from .redact import recorded_message
from .session import SwitchvoxSession
from .wire import TransportName

PROG = "aioswitchvox"
TRANSPORTS: tuple[TransportName, ...] = ("websocket", "polling")
# The newest messages capture keeps: enough for minutes of a busy PBX, bounded all the same.
CAPTURE_LIMIT = 10_000


def version() -> str:
    """Return the installed distribution's version ("source" when run from the integration)."""
    try:
        return importlib.metadata.version(PROG)
    except importlib.metadata.PackageNotFoundError:
        return "source"


def reason(err: BaseException) -> str:
    """Say in a user's words why ``err`` happened, and what to try."""
    if isinstance(err, SwitchvoxLoginRefusedError):
        return f"refused: wrong extension or password ({err})"
    if isinstance(err, SwitchvoxLoginNotAllowedError):
        return f"not allowed: the PBX admin has not granted this extension the API ({err})"
    if isinstance(err, SwitchvoxNotAuthorizedError):
        return f"not authorized: the PBX admin has not granted this ({err})"
    if isinstance(err, SwitchvoxSessionExpiredError):
        return f"session expired: the PBX ended the API session ({err})"
    if isinstance(err, SwitchvoxTLSError):
        return f"TLS certificate refused: {err} (a self-signed certificate? try --insecure)"
    if isinstance(err, SwitchvoxTimeoutError):
        return f"no answer in time: {err}"
    if isinstance(err, SwitchvoxConnectionError):
        return f"cannot connect: {err}"
    return f"{type(err).__name__}: {err}"


@dataclass
class Step:
    """One thing ``check`` tried: what, whether it worked, and why not."""

    name: str
    ok: bool | None  # None: not tried
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        """Return the step for ``--json``."""
        return {"ok": self.ok, "detail": self.detail or None}


@dataclass
class CheckReport:
    """What ``check`` found, printable as text or JSON."""

    url: str
    transports: dict[str, Step] = field(default_factory=dict)
    login: Step | None = None
    extensions: dict[str, Step] = field(default_factory=dict)
    dial: Step | None = None

    def steps(self) -> list[Step]:
        """Return every step in the order they ran."""
        steps = list(self.transports.values())
        steps += [step for step in (self.login,) if step is not None]
        steps += list(self.extensions.values())
        steps += [step for step in (self.dial,) if step is not None]
        return steps

    @property
    def ok(self) -> bool:
        """Return whether every step that ran worked and the PBX was usable."""
        usable = any(step.ok for step in self.transports.values())
        return usable and all(step.ok is not False for step in self.steps())

    def as_json(self) -> dict[str, Any]:
        """Return the report for ``--json``."""
        return {
            "ok": self.ok,
            "url": self.url,
            "version": version(),
            "transports": {name: step.as_json() for name, step in self.transports.items()},
            "login": self.login.as_json() if self.login else None,
            "extensions": {ext: step.as_json() for ext, step in self.extensions.items()},
            "dial": self.dial.as_json() if self.dial else None,
        }

    def as_text(self) -> str:
        """Return the report as lines for a terminal."""
        lines = [f"{PROG} {version()}: {self.url}"]
        for step in self.steps():
            state = {True: "ok", False: "FAILED", None: "not tried"}[step.ok]
            detail = f": {step.detail}" if step.detail else ""
            lines.append(f"  {step.name:<24} {state}{detail}")
        lines.append("result: ok" if self.ok else "result: FAILED")
        return "\n".join(lines)


class Command:
    """What every command shares: the arguments, the streams, the client it builds."""

    def __init__(
        self,
        args: argparse.Namespace,
        stdin: TextIO,
        stdout: TextIO,
        stop: asyncio.Event,
        prompt: Callable[[str], str],
    ) -> None:
        self.args = args
        self.stdin = stdin
        self.out = stdout
        self.stop = stop
        self.prompt = prompt

    @property
    def port(self) -> int:
        """Return the port asked for, else the scheme's."""
        port: int | None = self.args.port
        if port is not None:
            return port
        return DEFAULT_PORT if self.args.tls else 80

    def client(self, **kwargs: Any) -> SwitchvoxClient:
        """Return a client of the PBX the arguments name."""
        return SwitchvoxClient(
            self.args.host,
            port=self.port,
            use_ssl=self.args.tls,
            verify_ssl=not self.args.insecure,
            **kwargs,
        )

    async def password(self) -> str:
        """Return the password: from the named environment variable, stdin, or a prompt.

        Reading a terminal or a pipe blocks: it runs in a thread, the event loop's own is free.
        """
        if name := self.args.password_env:
            value = os.environ.get(name)
            if value is None:
                raise UsageError(f"environment variable {name} is not set")
            return value
        if self.args.password_stdin:
            line = await asyncio.to_thread(self.stdin.readline)
            return line.rstrip("\r\n")
        try:
            return await asyncio.to_thread(
                self.prompt, f"Password of extension {self.args.extension}: "
            )
        except EOFError:
            raise UsageError("no password given") from None

    def print(self, text: str = "") -> None:
        """Write a line to the output at once (it may be a pipe read live)."""
        self.out.write(text + "\n")
        self.out.flush()


class UsageError(Exception):
    """The command line cannot be carried out as given."""


async def check(cmd: Command) -> int:
    """Check each transport, the login, each extension's subscription, and a dial if asked."""
    args = cmd.args
    password = await cmd.password()
    report = CheckReport(url=cmd.client().url)
    for transport in TRANSPORTS:
        client = cmd.client(transports=(transport,))
        step = report.transports[transport] = Step(f"transport {transport}", ok=True)
        try:
            await client.connect()
        except SwitchvoxError as err:
            step.ok, step.detail = False, reason(err)
        finally:
            await client.disconnect()
    watched = list(dict.fromkeys(args.watch or [args.extension]))
    if any(step.ok for step in report.transports.values()):
        async with cmd.client() as client:
            await _check_session(client, args, password, watched, report)
    cmd.print(json.dumps(report.as_json(), indent=2) if args.json else report.as_text())
    return 0 if report.ok else 1


async def _check_session(
    client: SwitchvoxClient,
    args: argparse.Namespace,
    password: str,
    watched: list[str],
    report: CheckReport,
) -> None:
    """Log in, subscribe each extension on its own, dial when asked; record every outcome."""
    step = report.login = Step(f"login as {args.extension}", ok=True)
    try:
        await client.login(args.extension, password)
    except SwitchvoxError as err:
        step.ok, step.detail = False, reason(err)
        return
    for extension in watched:
        step = report.extensions[extension] = Step(f"watch {extension}", ok=True)
        try:
            await client.subscribe([extension])
        except SwitchvoxRequestNotAllowedError as err:
            step.ok = False
            step.detail = f"{args.extension} may not watch {extension}: {reason(err)}"
        except SwitchvoxError as err:
            step.ok, step.detail = False, reason(err)
    if args.dial is not None:
        step = report.dial = Step(f"dial {args.dial}", ok=True)
        try:
            await client.dial(args.dial)
        except SwitchvoxError as err:
            step.ok, step.detail = False, reason(err)
    await client.logout()


async def dial(cmd: Command) -> int:
    """Log in and place a call from the login extension to NUMBER."""
    password = await cmd.password()
    async with cmd.client() as client:
        await client.login(cmd.args.extension, password)
        await client.dial(cmd.args.number)
        cmd.print(f"dialled {cmd.args.number} from {cmd.args.extension}")
        await client.logout()
    return 0


async def capture(cmd: Command) -> int:
    """Record what the PBX sends for a while, masked as diagnostics mask it, into a file."""
    args = cmd.args
    password = await cmd.password()
    watched = list(dict.fromkeys(args.watch or [args.extension]))
    client = cmd.client(recorded_messages=CAPTURE_LIMIT)
    notifications = 0
    enough = asyncio.Event()  # --count reached, or the connection lost

    def count(_state: object) -> None:
        nonlocal notifications
        notifications += 1
        if args.count is not None and notifications >= args.count:
            enough.set()

    def lost(connected: bool) -> None:
        if not connected:
            enough.set()

    client.add_line_state_listener(count)
    client.add_connection_listener(lost)
    started = datetime.now(UTC)
    async with client:
        await client.login(args.extension, password)
        refused = await client.subscribe_permitted(watched)
        transport, ping = client.transport_name, (client.ping_interval, client.ping_timeout)
        cmd.print(
            f"capturing {', '.join(watched)} for {args.seconds:g} s over {transport}"
            + (f" (refused: {', '.join(refused)})" if refused else "")
        )
        stopped = asyncio.ensure_future(cmd.stop.wait())
        ended = asyncio.ensure_future(enough.wait())
        try:
            await asyncio.wait(
                [stopped, ended], timeout=args.seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stopped.cancel()
            ended.cancel()
        # What was captured is written whatever the PBX does now, a drop included.
        connection_lost = not client.connected
        if connection_lost:
            cmd.print("the PBX closed the connection")
        else:
            with contextlib.suppress(SwitchvoxError):
                await client.logout()
    messages = [
        message.as_json()
        for item in client.received
        if (message := recorded_message(item, password)) is not None
    ]
    document = {
        "aioswitchvox": version(),
        "started": started.isoformat(),
        "ended": datetime.now(UTC).isoformat(),
        "url": client.url,
        "transport": transport,
        "ping_interval": ping[0],
        "ping_timeout": ping[1],
        "extension": args.extension,
        "watched": watched,
        "refused": list(refused),
        "notifications": notifications,
        "malformed_messages": client.malformed_messages,
        "connection_lost": connection_lost,
        "messages": messages,
    }
    text = json.dumps(document, indent=2) + "\n"
    await asyncio.to_thread(Path(args.out).write_text, text, encoding="utf-8")
    cmd.print(f"wrote {len(messages)} messages to {args.out}")
    return 0


class LiveLines:
    """Whatever watch shows the lines on: rich's live table, else one printed line per change."""

    def __init__(self, cmd: Command, plain: bool) -> None:
        self._cmd = cmd
        self._url = cmd.client().url
        self._live: Any = None
        self._table: Callable[[dict[str, Line], str], Any] | None = None
        if not plain:
            self._start_rich()

    def _start_rich(self) -> None:
        """Use rich when the ``cli`` extra is installed."""
        try:
            from rich.console import Console  # noqa: PLC0415 (the optional cli extra)
            from rich.live import Live  # noqa: PLC0415
            from rich.table import Table  # noqa: PLC0415
        except ImportError:
            return

        def table(lines: dict[str, Line], state: str) -> Table:
            table = Table(title=f"{self._url}: {state}", title_justify="left")
            for column in ("extension", "name", "status", "channels", "other party"):
                table.add_column(column)
            for extension, line in lines.items():
                table.add_row(extension, *_row(line))
            return table

        self._table = table
        console = Console(file=self._cmd.out, force_terminal=True)
        self._live = Live(console=console, auto_refresh=False, transient=False)
        self._live.start()

    def show(self, lines: dict[str, Line], state: str, change: LineChange | None) -> None:
        """Show the lines after ``change`` (or a change of the connection's ``state``)."""
        if self._live is not None and self._table is not None:
            self._live.update(self._table(lines, state), refresh=True)
            return
        at = datetime.now().astimezone().strftime("%H:%M:%S")
        if change is None:
            self._cmd.print(f"{at} {state}")
            return
        line = lines[change.extension]
        name, status, channels, other = _row(line)
        self._cmd.print(f"{at} {change.extension} {name} {status} ({channels}) {other}".rstrip())

    def close(self) -> None:
        """Leave the last table on the screen."""
        if self._live is not None:
            self._live.stop()


def _row(line: Line) -> tuple[str, str, str, str]:
    """Return a line's name, status, channel count and the other party of its primary channel."""
    primary = line.primary
    other = ""
    if primary is not None and (remote := primary.state.caller) is not None:
        other = " ".join(part for part in (remote.name, remote.number) if part)
    name = line.account.name if line.account and line.account.name else ""
    status = line.status.value if line.status is not LineStatus.UNKNOWN else "unknown"
    return name, status, str(len(line.channels)), other


class _WatchObserver:
    """Feeds the session's news to the live view."""

    def __init__(self, view: LiveLines, lines: Callable[[], dict[str, Line]]) -> None:
        self.view = view
        self.lines = lines
        self.state = "connecting"
        self.refused: Exception | None = None

    def _show(self, state: str | None = None, change: LineChange | None = None) -> None:
        if state is not None:
            self.state = state
        self.view.show(self.lines(), self.state, change)

    def session_up(self, refused: frozenset[str]) -> None:
        """Show the session up (and the extensions it may not watch)."""
        self._show("connected" + (f", refused: {', '.join(sorted(refused))}" if refused else ""))

    def session_down(self) -> None:
        """Show the session down."""
        self._show("connection lost, reconnecting")

    def line_changed(self, change: LineChange | None) -> None:
        """Show a line's change (the session's subscriber; None: the session went up or down)."""
        if change is not None:
            self._show(change=change)

    def reconnect_failed(self, error: SwitchvoxError, attempt: int) -> None:
        """Show a failed reconnect."""
        self._show(f"reconnect {attempt} failed: {reason(error)}")

    def login_refused(self, error: SwitchvoxError) -> None:
        """Show the refused login; watch ends."""
        self.refused = error
        self._show(f"login {reason(error)}")

    def sessions_unstable(self, unstable: bool) -> None:
        """Show that the PBX keeps closing sessions."""
        if unstable:
            self._show("the PBX keeps closing the session")


async def watch(cmd: Command) -> int:
    """Show the watched lines live, until Ctrl-C (or the test's stop)."""
    args = cmd.args
    password = await cmd.password()
    watched = list(dict.fromkeys(args.watch or [args.extension]))
    client = cmd.client()
    # In place only on a terminal: a pipe or a file gets one line per change.
    view = LiveLines(cmd, plain=args.plain or not cmd.out.isatty())
    session: SwitchvoxSession | None = None
    observer = _WatchObserver(view, lambda: session.lines if session else {})
    session = SwitchvoxSession(
        client=client,
        extension=args.extension,
        password=password,
        watched=watched,
        observer=observer,
    )
    session.subscribe(observer.line_changed)
    try:
        await session.start()
        runner = asyncio.ensure_future(session.run())
        stopped = asyncio.ensure_future(cmd.stop.wait())
        try:
            await asyncio.wait([runner, stopped], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            await session.close()
            await runner
    finally:
        await client.disconnect()
        view.close()
    return 1 if observer.refused else 0


def parser() -> argparse.ArgumentParser:
    """Return the command line's parser."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("host", help="the PBX's host name or address")
    common.add_argument("extension", help="the extension to log in as")
    common.add_argument("--port", type=int, help="default: 443, or 80 with --no-tls")
    common.add_argument(
        "--no-tls", dest="tls", action="store_false", help="plain HTTP instead of HTTPS"
    )
    common.add_argument(
        "--insecure", action="store_true", help="accept any certificate (self-signed)"
    )
    secret = common.add_mutually_exclusive_group()
    secret.add_argument(
        "--password-env", metavar="NAME", help="read the password from environment variable NAME"
    )
    secret.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin's first line"
    )
    common.add_argument("--debug", action="store_true", help="log the protocol (no secrets)")
    watch_help = "extensions to watch (default: the login extension)"

    root = argparse.ArgumentParser(
        prog=PROG, description="Check a Switchvox PBX's Realtime API, watch its lines, capture."
    )
    root.add_argument("--version", action="version", version=f"{PROG} {version()}")
    commands = root.add_subparsers(dest="command", required=True)
    sub = commands.add_parser(
        "check", parents=[common], help="check transports, login, subscriptions (exit 0 or 1)"
    )
    sub.add_argument("watch", nargs="*", help=watch_help)
    sub.add_argument("--dial", metavar="NUMBER", help="also place a call to NUMBER")
    sub.add_argument("--json", action="store_true", help="print the result as JSON")
    sub = commands.add_parser("watch", parents=[common], help="a live table of the lines")
    sub.add_argument("watch", nargs="*", help=watch_help)
    sub.add_argument("--plain", action="store_true", help="one line per change, no table")
    sub = commands.add_parser("dial", parents=[common], help="place a call from EXTENSION")
    sub.add_argument("number", help="the number or extension to call")
    sub = commands.add_parser(
        "capture", parents=[common], help="record what the PBX sends (masked) for a bug report"
    )
    sub.add_argument("watch", nargs="*", help=watch_help)
    sub.add_argument("--seconds", type=float, default=60.0, help="how long (default 60)")
    sub.add_argument("--count", type=int, help="stop after this many line notifications")
    sub.add_argument("--out", required=True, type=Path, help="the file to write (JSON)")
    return root


COMMANDS = {"check": check, "watch": watch, "dial": dial, "capture": capture}


async def run(
    argv: Sequence[str],
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stop: asyncio.Event | None = None,
    prompt: Callable[[str], str] = getpass.getpass,
) -> int:
    """Run a command line; return its exit status.

    ``stop`` ends watch and capture early; ``prompt`` asks for the password (on the terminal,
    not echoed) when neither --password-env nor --password-stdin gives it.
    """
    out = stdout or sys.stdout
    args = parser().parse_args(argv)
    if args.debug:
        logging.getLogger(__package__).setLevel(logging.DEBUG)
    loop = asyncio.get_running_loop()
    interruptible = stop is None and args.command in ("watch", "capture")
    if stop is None:
        stop = asyncio.Event()
    if interruptible:
        # Ctrl-C ends watch and capture the way they end anyway: closed, and the capture written.
        loop.add_signal_handler(signal.SIGINT, stop.set)
    cmd = Command(args, stdin or sys.stdin, out, stop, prompt)
    try:
        return await COMMANDS[args.command](cmd)
    except UsageError as err:
        out.write(f"{PROG}: {err}\n")
        return 2
    except SwitchvoxError as err:
        out.write(f"{PROG}: {args.command} failed: {reason(err)}\n")
        return 1
    finally:
        if interruptible:
            loop.remove_signal_handler(signal.SIGINT)


def main() -> int:
    """Run the command line of this process; Ctrl-C ends it without a traceback."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(run(sys.argv[1:]))
    except KeyboardInterrupt:
        return 130
