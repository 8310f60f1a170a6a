"""Switchvox PBX simulator: the Realtime API over socket.io 1.x, call flows, fault injection."""

from .app import start_demo, with_control_api
from .calls import CallFlows
from .demo import DemoTraffic
from .faults import HANDSHAKE_FAULTS, Faults, HandshakeFault
from .pbx import (
    TOPIC_LINE,
    Account,
    Channel,
    Notification,
    Pbx,
    PbxError,
    UnknownAccountError,
    UnknownChannelError,
    format_timestamp,
)
from .rpc import (
    ALREADY_AUTHENTICATED,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    NOT_AUTHENTICATED,
    NOT_AUTHORIZED,
)
from .server import SwitchvoxSimulator
from .wire import SOCKETIO_PATH

__all__ = [
    "ALREADY_AUTHENTICATED",
    "HANDSHAKE_FAULTS",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "NOT_AUTHENTICATED",
    "NOT_AUTHORIZED",
    "SOCKETIO_PATH",
    "TOPIC_LINE",
    "Account",
    "CallFlows",
    "Channel",
    "DemoTraffic",
    "Faults",
    "HandshakeFault",
    "Notification",
    "Pbx",
    "PbxError",
    "SwitchvoxSimulator",
    "UnknownAccountError",
    "UnknownChannelError",
    "format_timestamp",
    "start_demo",
    "with_control_api",
]
