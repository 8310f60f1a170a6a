"""Switchvox PBX simulator: the Realtime API over socket.io 1.x, call flows, fault injection."""

from .demo import DemoTraffic
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
from .server import (
    ALREADY_AUTHENTICATED,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    NOT_AUTHENTICATED,
    NOT_AUTHORIZED,
    SOCKETIO_PATH,
    SwitchvoxSimulator,
)

__all__ = [
    "ALREADY_AUTHENTICATED",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "METHOD_NOT_FOUND",
    "NOT_AUTHENTICATED",
    "NOT_AUTHORIZED",
    "SOCKETIO_PATH",
    "TOPIC_LINE",
    "Account",
    "Channel",
    "DemoTraffic",
    "Notification",
    "Pbx",
    "PbxError",
    "SwitchvoxSimulator",
    "UnknownAccountError",
    "UnknownChannelError",
    "format_timestamp",
]
