"""The ``aioswitchvox`` command line against the simulator, in-process and as a real process."""

import asyncio
import io
import json
import logging
import os
from pathlib import Path
import signal
import sys
from typing import Any

import pytest

from aioswitchvox import (
    SwitchvoxConnectionError,
    SwitchvoxError,
    SwitchvoxLoginNotAllowedError,
    SwitchvoxLoginRefusedError,
    SwitchvoxRequestNotAllowedError,
    SwitchvoxSessionExpiredError,
    SwitchvoxTimeoutError,
    SwitchvoxTLSError,
    cli,
)
from library.tests.client.conftest import wait_until
from library.tests.conftest import PASSWORD
from switchvox_simulator import SwitchvoxSimulator


class Terminal(io.StringIO):
    """An output that says it is a terminal, as a user's is: watch draws its table on it."""

    def isatty(self) -> bool:
        """Claim to be a terminal."""
        return True


def argv(simulator: SwitchvoxSimulator, command: str, *args: str) -> list[str]:
    """Return the command line of ``command`` against the simulator, password on stdin."""
    return [command, "127.0.0.1", *args, "--no-tls", f"--port={simulator.port}", "--password-stdin"]


async def run(
    args: list[str],
    password: str = PASSWORD,
    out: io.StringIO | None = None,
    stop: asyncio.Event | None = None,
) -> tuple[int, str]:
    """Run a command line in-process; return its exit status and output."""
    out = out if out is not None else io.StringIO()
    status = await cli.run(args, stdin=io.StringIO(password + "\n"), stdout=out, stop=stop)
    return status, out.getvalue()


def sent(simulator: SwitchvoxSimulator, method: str) -> list[Any]:
    """Return the params of every ``method`` request the simulator received."""
    return [params for name, params in simulator.requests if name == method]


async def test_check_ok(simulator: SwitchvoxSimulator, caplog: pytest.LogCaptureFixture) -> None:
    """Both transports, the login, each watched extension and the asked-for dial work: 0."""
    caplog.set_level(logging.DEBUG)
    status, out = await run(argv(simulator, "check", "101", "101", "102", "--dial", "102"))
    assert status == 0, out
    assert out.splitlines()[1:] == [
        "  transport websocket      ok",
        "  transport polling        ok",
        "  login as 101             ok",
        "  watch 101                ok",
        "  watch 102                ok",
        "  dial 102                 ok",
        "result: ok",
    ]
    assert sent(simulator, "dial") == [{"extension": "102"}]
    # One subscription per extension, so that each refusal is told apart.
    assert [params["targets"] for params in sent(simulator, "subscribe")] == [
        [{"account": {"extension": "101"}}],
        [{"account": {"extension": "102"}}],
    ]
    assert PASSWORD not in out
    assert PASSWORD not in caplog.text
    await wait_until(lambda: simulator.connections == 0)


async def test_check_dials_only_when_asked(simulator: SwitchvoxSimulator) -> None:
    """Without --dial nothing is dialled; without extensions the login extension is watched."""
    status, out = await run(argv(simulator, "check", "102"))
    assert status == 0, out
    assert "watch 102" in out
    assert "dial" not in out
    assert sent(simulator, "dial") == []


async def test_check_refused_extension_json(simulator: SwitchvoxSimulator) -> None:
    """An extension the login may not watch fails the check (1), saying why, in JSON too."""
    status, out = await run(argv(simulator, "check", "104", "104", "101", "--json"))
    assert status == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert report["url"] == f"http://127.0.0.1:{simulator.port}"
    assert report["transports"] == {
        "websocket": {"ok": True, "detail": None},
        "polling": {"ok": True, "detail": None},
    }
    assert report["login"] == {"ok": True, "detail": None}
    assert report["extensions"]["104"] == {"ok": True, "detail": None}
    assert report["extensions"]["101"]["ok"] is False
    assert report["extensions"]["101"]["detail"].startswith("104 may not watch 101: not authorized")
    assert report["dial"] is None
    assert set(report) == {"ok", "url", "version", "transports", "login", "extensions", "dial"}


async def test_check_wrong_password(
    simulator: SwitchvoxSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A refused login fails the check and names the cause; the password appears nowhere."""
    caplog.set_level(logging.DEBUG, logger="aioswitchvox")
    wrong = "wrong-" + PASSWORD
    status, out = await run(argv(simulator, "check", "101", "101", "--debug"), password=wrong)
    assert status == 1
    assert "login as 101             FAILED: refused: wrong extension or password" in out
    assert "watch 101" not in out
    assert "result: FAILED" in out
    assert wrong not in out
    assert wrong not in caplog.text


async def test_check_nothing_listening(socket_enabled: None, unused_tcp_port: int) -> None:
    """No transport connects: both say why, nothing else is tried, the check fails."""
    args = ["check", "127.0.0.1", "101", "--no-tls", f"--port={unused_tcp_port}"]
    status, out = await run([*args, "--password-stdin", "--json"])
    assert status == 1
    report = json.loads(out)
    for step in report["transports"].values():
        assert step["ok"] is False
        assert step["detail"].startswith("cannot connect")
    assert report["login"] is None


async def test_password_from_environment(
    simulator: SwitchvoxSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--password-env NAME reads the password from NAME; an unset NAME is a usage error (2)."""
    base = ["check", "127.0.0.1", "101", "--no-tls", f"--port={simulator.port}"]
    monkeypatch.setenv("PBX_SECRET", PASSWORD)
    status, out = await run([*base, "--password-env", "PBX_SECRET"], password="")
    assert status == 0, out
    monkeypatch.delenv("PBX_SECRET")
    status, out = await run([*base, "--password-env", "PBX_SECRET"], password="")
    assert status == 2
    assert "PBX_SECRET is not set" in out


async def test_password_prompted(simulator: SwitchvoxSimulator) -> None:
    """Without --password-env or --password-stdin the password is asked for, naming the login."""
    prompts: list[str] = []

    def prompt(text: str) -> str:
        prompts.append(text)
        return PASSWORD

    args = ["check", "127.0.0.1", "101", "--no-tls", f"--port={simulator.port}"]
    out = io.StringIO()
    status = await cli.run(args, stdin=io.StringIO(), stdout=out, prompt=prompt)
    assert status == 0, out.getvalue()
    assert prompts == ["Password of extension 101: "]


async def test_password_prompt_ended() -> None:
    """Ctrl-D at the password prompt is a usage error (2), not a traceback."""

    def prompt(text: str) -> str:
        raise EOFError

    out = io.StringIO()
    status = await cli.run(["check", "pbx.lan", "101"], stdout=out, prompt=prompt)
    assert status == 2
    assert out.getvalue() == "aioswitchvox: no password given\n"


@pytest.mark.parametrize(
    ("options", "url"),
    [
        ([], "https://pbx.lan:443"),
        (["--no-tls"], "http://pbx.lan:80"),
        (["--port=8443"], "https://pbx.lan:8443"),
        (["--no-tls", "--port=8080"], "http://pbx.lan:8080"),
    ],
)
def test_address_options(options: list[str], url: str) -> None:
    """HTTPS on 443 unless told otherwise, as the PBX serves it."""
    args = cli.parser().parse_args(["check", "pbx.lan", "101", *options])
    command = cli.Command(args, io.StringIO(), io.StringIO(), asyncio.Event(), str)
    assert command.client().url == url
    assert command.client().verify_ssl
    args = cli.parser().parse_args(["check", "pbx.lan", "101", "--insecure"])
    assert (
        not cli.Command(args, io.StringIO(), io.StringIO(), asyncio.Event(), str)
        .client()
        .verify_ssl
    )


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (SwitchvoxLoginRefusedError(-32000, "Invalid", "login"), "refused: wrong extension or"),
        (SwitchvoxLoginNotAllowedError(-32001, "No", "login"), "not allowed: the PBX admin has"),
        (SwitchvoxRequestNotAllowedError(-32001, "No", "dial"), "not authorized: the PBX admin"),
        (SwitchvoxSessionExpiredError(-32000, "No", "dial"), "session expired: the PBX ended"),
        (SwitchvoxTLSError("certificate verify failed"), "TLS certificate refused: certificate"),
        (SwitchvoxTimeoutError("No response to dial"), "no answer in time: No response to dial"),
        (SwitchvoxConnectionError("Connection refused"), "cannot connect: Connection refused"),
        (SwitchvoxError("odd"), "SwitchvoxError: odd"),
    ],
)
def test_reasons(error: SwitchvoxError, said: str) -> None:
    """Each kind of error is told in a user's words, with what to try."""
    assert cli.reason(error).startswith(said)
    if isinstance(error, SwitchvoxTLSError):
        assert cli.reason(error).endswith("try --insecure)")


async def test_check_dial_refused(simulator: SwitchvoxSimulator) -> None:
    """A login that may not dial fails the check at the dial step, saying why."""
    simulator.add_account("105", PASSWORD, "Eve Ellis", can_dial=False)
    status, out = await run(argv(simulator, "check", "105", "--dial", "101"))
    assert status == 1
    assert "  dial 101                 FAILED: not authorized" in out
    assert "  watch 105                ok" in out


async def test_password_never_an_argument() -> None:
    """There is no option that takes the password on the command line."""
    with pytest.raises(SystemExit):
        cli.parser().parse_args(["check", "pbx", "101", "--password", PASSWORD])


async def test_dial(simulator: SwitchvoxSimulator) -> None:
    """Dial places one call from the login extension and logs out."""
    status, out = await run(argv(simulator, "dial", "101", "102"))
    assert status == 0, out
    assert out == "dialled 102 from 101\n"
    assert sent(simulator, "dial") == [{"extension": "102"}]
    await wait_until(lambda: simulator.connections == 0)


async def test_dial_refused_login(simulator: SwitchvoxSimulator) -> None:
    """A dial whose login is refused fails (1) with the reason."""
    status, out = await run(argv(simulator, "dial", "101", "102"), password="nope")
    assert status == 1
    assert out.startswith("aioswitchvox: dial failed: refused: wrong extension or password")
    assert sent(simulator, "dial") == []


async def test_capture_writes_masked_file(simulator: SwitchvoxSimulator, tmp_path: Path) -> None:
    """Capture writes what the PBX sent, callers masked as in diagnostics, no password."""
    out_file = tmp_path / "capture.json"
    args = argv(simulator, "capture", "101", "101", "102", "104")
    task = asyncio.create_task(run([*args, "--seconds=60", "--count=1", f"--out={out_file}"]))
    await wait_until(lambda: simulator.subscriptions.get("102") == 1 or task.done())
    await simulator.ring("102", caller_name="Zed Zimmer", caller_number="5550100")
    status, out = await task
    assert status == 0, out
    assert "capturing 101, 102, 104 for 60 s over websocket" in out
    text = out_file.read_text(encoding="utf-8")
    assert PASSWORD not in text
    assert "Zed Zimmer" not in text
    assert "5550100" not in text
    document = json.loads(text)
    assert document["refused"] == []
    assert document["notifications"] == 1
    assert document["transport"] == "websocket"
    assert document["connection_lost"] is False
    [message] = document["messages"]
    assert message["event"] == "notification"
    [remote] = message["payload"]["params"]["remotes"]
    assert remote == {"callerIdName": "********er", "callerIdNumber": "*****00"}
    assert out.endswith(f"wrote 1 messages to {out_file}\n")


async def test_capture_stops_on_request(simulator: SwitchvoxSimulator, tmp_path: Path) -> None:
    """Ctrl-C (the stop) ends a capture early and still writes the file."""
    out_file = tmp_path / "capture.json"
    stop = asyncio.Event()
    args = argv(simulator, "capture", "104", "104", "101", "--seconds=600", f"--out={out_file}")
    task = asyncio.create_task(run(args, stop=stop))
    await wait_until(lambda: simulator.subscriptions.get("104") == 1 or task.done())
    stop.set()
    status, out = await task
    assert status == 0, out
    assert "(refused: 101)" in out
    assert json.loads(out_file.read_text(encoding="utf-8"))["refused"] == ["101"]


async def test_capture_through_a_drop(simulator: SwitchvoxSimulator, tmp_path: Path) -> None:
    """A PBX closing the connection ends the capture, which still writes what it got."""
    out_file = tmp_path / "capture.json"
    args = argv(simulator, "capture", "101", "--seconds=600", f"--out={out_file}")
    task = asyncio.create_task(run(args))
    await wait_until(lambda: simulator.subscriptions.get("101") == 1 or task.done())
    await simulator.drop_connections()
    status, out = await task
    assert status == 0, out
    assert "the PBX closed the connection" in out
    document = json.loads(out_file.read_text(encoding="utf-8"))
    assert document["connection_lost"] is True


async def changed(output: io.StringIO, text: str, task: asyncio.Task[Any]) -> None:
    """Wait until ``text`` is in ``output`` (or the command ended)."""
    await wait_until(lambda: text in output.getvalue() or task.done())


async def test_watch_plain(simulator: SwitchvoxSimulator) -> None:
    """Watch prints one line per change into a pipe, and ends cleanly on the stop."""
    stop = asyncio.Event()
    out = io.StringIO()
    task = asyncio.create_task(
        run(argv(simulator, "watch", "101", "101", "102"), out=out, stop=stop)
    )
    await changed(out, "connected", task)
    uid = await simulator.ring("102", caller_name="Zed Zimmer", caller_number="5550100")
    await changed(out, "ringing", task)
    await simulator.answer(uid)
    await changed(out, "onThePhone", task)
    stop.set()
    status, text = await task
    assert status == 0, text
    lines = [line.split(" ", 1)[1] for line in text.splitlines()]
    assert lines == [
        "connected",
        "102 Bob Baker ringing (1) Zed Zimmer 5550100",
        "102 Bob Baker onThePhone (1) Zed Zimmer 5550100",
    ]
    await wait_until(lambda: simulator.connections == 0)
    assert sent(simulator, "logout") == [{}]


async def test_watch_table(simulator: SwitchvoxSimulator) -> None:
    """On a terminal, watch redraws a table of the lines in place (rich, the cli extra)."""
    stop = asyncio.Event()
    out = Terminal()
    task = asyncio.create_task(
        run(argv(simulator, "watch", "101", "101", "102"), out=out, stop=stop)
    )
    await changed(out, "connected", task)
    await simulator.ring("101", caller_name="Zed Zimmer", caller_number="5550100")
    await changed(out, "ringing", task)
    stop.set()
    status, text = await task
    assert status == 0, text
    assert "\x1b[2K\x1b[1A" in text  # rich moved the cursor back up over the previous frame
    frames = text.split(f"http://127.0.0.1:{simulator.port}: connected")
    # Connected; after the ring; the last, left on the screen at the end.
    assert len(frames) == 4
    assert "Zed Zimmer 5550100" not in frames[1]
    assert "Alice Archer" in frames[2]
    assert "Zed Zimmer 5550100" in frames[2]
    for column in ("extension", "name", "status", "channels", "other party"):
        assert column in frames[1]


async def test_watch_through_a_drop(simulator: SwitchvoxSimulator) -> None:
    """Watch says when the connection is lost and carries on once the session is back."""
    stop = asyncio.Event()
    out = io.StringIO()
    task = asyncio.create_task(run(argv(simulator, "watch", "101"), out=out, stop=stop))
    await changed(out, "connected", task)
    await simulator.drop_connections()
    await changed(out, "connection lost, reconnecting", task)
    await wait_until(lambda: out.getvalue().count(" connected") == 2 or task.done())
    await simulator.ring("101", caller_name="Zed Zimmer", caller_number="5550100")
    await changed(out, "ringing", task)
    stop.set()
    status, text = await task
    assert status == 0, text
    assert [line.split(" ", 1)[1] for line in text.splitlines()] == [
        "connected",
        "connection lost, reconnecting",
        "connected",
        "101 Alice Archer ringing (1) Zed Zimmer 5550100",
    ]


async def test_watch_refused_login(simulator: SwitchvoxSimulator) -> None:
    """Watch with a wrong password ends at once (1), saying why."""
    status, out = await run(argv(simulator, "watch", "101", "--plain"), password="nope")
    assert status == 1
    assert "watch failed: refused: wrong extension or password" in out


async def command(*args: str, password: str = PASSWORD) -> asyncio.subprocess.Process:
    """Start ``python -m aioswitchvox`` with ``args``, the password on its stdin."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aioswitchvox",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdin is not None
    process.stdin.write(password.encode() + b"\n")
    await process.stdin.drain()
    return process


async def test_module_check_exit_status(simulator: SwitchvoxSimulator) -> None:
    """``python -m aioswitchvox check`` exits 0 on success and 1 on a refused extension."""
    process = await command(*argv(simulator, "check", "101", "102"))
    out, _ = await process.communicate()
    assert process.returncode == 0, out
    assert out.decode().endswith("result: ok\n")
    process = await command(*argv(simulator, "check", "104", "101"))
    out, _ = await process.communicate()
    assert process.returncode == 1, out
    assert b"104 may not watch 101" in out


async def test_module_watch_ctrl_c(simulator: SwitchvoxSimulator) -> None:
    """Ctrl-C ends a running ``watch`` cleanly: exit status 0, logged out, no traceback."""
    process = await command(*argv(simulator, "watch", "101", "101"))
    assert process.stdout is not None
    async with asyncio.timeout(20):
        first = await process.stdout.readline()
    assert first.endswith(b" connected\n")
    process.send_signal(signal.SIGINT)
    rest, _ = await process.communicate()
    assert process.returncode == 0, rest
    assert b"Traceback" not in rest
    await wait_until(lambda: simulator.connections == 0)
    assert sent(simulator, "logout") == [{}]
