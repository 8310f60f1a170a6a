"""The simulator's fault switches in one place, and helpers that flip them for tests."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from .handshake import HANDSHAKE_FAULTS, HandshakeFault
from .proxy import BlackholeProxy
from .rpc import ALREADY_AUTHENTICATED, RpcFaults, error_object

__all__ = [
    "HANDSHAKE_FAULTS",
    "BlackholeProxy",
    "ConnectionFaults",
    "Faults",
    "HandshakeFault",
    "RpcFaults",
    "answer_login_already_authenticated",
]


@dataclass
class ConnectionFaults:
    """Switches on the connection level: frozen sockets, refused or broken handshakes."""

    responding: bool = True
    accepting: bool = True
    handshake: HandshakeFault = "none"
    handshake_times: int | None = None
    """How many more handshake attempts get ``handshake`` (None: every one until cleared)."""
    handshake_attempts: int = 0
    """New Engine.IO connections attempted (requests without ``sid``), faulted or not."""

    def set_handshake(self, fault: HandshakeFault, times: int | None = None) -> None:
        """Break the next ``times`` handshakes (None: all) with ``fault``; "none" clears."""
        if fault not in HANDSHAKE_FAULTS:
            raise ValueError(f"Unknown handshake fault {fault!r}: one of {HANDSHAKE_FAULTS}")
        if times is not None and times < 0:
            raise ValueError("times must be None or >= 0")
        self.handshake = "none" if times == 0 else fault
        self.handshake_times = None if fault == "none" else times

    def next_handshake(self) -> HandshakeFault:
        """Count a handshake attempt; return the fault it gets (and use up one of ``times``)."""
        self.handshake_attempts += 1
        fault = self.handshake
        if fault != "none" and self.handshake_times is not None:
            self.handshake_times -= 1
            if self.handshake_times <= 0:
                self.handshake, self.handshake_times = "none", None
        return fault


@dataclass
class Faults:
    """Every fault switch of one simulator."""

    connection: ConnectionFaults = field(default_factory=ConnectionFaults)
    rpc: RpcFaults = field(default_factory=RpcFaults)


class HasFaults(Protocol):
    """Anything carrying fault switches (a :class:`SwitchvoxSimulator`)."""

    @property
    def faults(self) -> Faults:
        """Return the fault switches."""
        ...


def answer_login_already_authenticated(simulator: HasFaults) -> Callable[[], None]:
    """Log sessions in but answer each successful login with -32002; return an undo function."""
    rpc = simulator.faults.rpc
    previous = rpc.login_error
    rpc.login_error = error_object(ALREADY_AUTHENTICATED, "Session already authenticated")

    def undo() -> None:
        rpc.login_error = previous

    return undo
