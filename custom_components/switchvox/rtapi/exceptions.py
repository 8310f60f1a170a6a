"""Exceptions raised by the Switchvox Realtime API client."""

# JSON-RPC error codes the Switchvox Realtime API adds to the standard ones.
ERROR_NOT_AUTHENTICATED = -32000
ERROR_NOT_AUTHORIZED = -32001
ERROR_ALREADY_AUTHENTICATED = -32002


class SwitchvoxError(Exception):
    """Base class of every error this client raises."""


class SwitchvoxConnectionError(SwitchvoxError):
    """The PBX cannot be reached, or the connection dropped."""


class SwitchvoxTLSError(SwitchvoxConnectionError):
    """The PBX's TLS certificate failed verification (often a self-signed certificate)."""


class SwitchvoxTimeoutError(SwitchvoxConnectionError):
    """The PBX did not answer a request in time."""


class SwitchvoxMessageError(SwitchvoxError, ValueError):
    """A message from the PBX does not have the documented shape."""


class SwitchvoxRpcError(SwitchvoxError):
    """The PBX answered a request with a JSON-RPC error."""

    def __init__(self, code: int, message: str, method: str | None = None) -> None:
        self.code = code
        self.rpc_message = message
        self.method = method
        where = f" to {method}" if method else ""
        super().__init__(f"JSON-RPC error {code}{where}: {message}")


class SwitchvoxAuthenticationError(SwitchvoxRpcError):
    """The PBX answered "not authenticated" (-32000); catch a subclass to tell why."""


class SwitchvoxLoginRefusedError(SwitchvoxAuthenticationError):
    """The PBX refused the login: wrong extension or password (-32000 to login).

    Retrying cannot help, and may lock the account: new credentials are needed.
    """


class SwitchvoxSessionExpiredError(SwitchvoxAuthenticationError):
    """The PBX ended the API session: a request other than login was answered -32000.

    The connection carries no session any more; only a new connection and login bring one
    back. Not a refused password: the credentials were accepted when the session began.
    """


class SwitchvoxNotAuthorizedError(SwitchvoxRpcError):
    """The PBX admin has not granted a permission (-32001); catch a subclass to tell which."""


class SwitchvoxLoginNotAllowedError(SwitchvoxNotAuthorizedError):
    """The extension may not use the Realtime API at all (-32001 to login).

    Retrying cannot help: the PBX admin has to allow the extension the API.
    """


class SwitchvoxRequestNotAllowedError(SwitchvoxNotAuthorizedError):
    """The session may not do this one request (-32001 to subscribe, dial...).

    The session itself is fine: another extension, or another method, may well be allowed.
    """


class SwitchvoxAlreadyAuthenticatedError(SwitchvoxRpcError):
    """Login was sent twice on one session (-32002)."""


def rpc_error_from_code(code: int, message: str, method: str | None) -> SwitchvoxRpcError:
    """Return the most specific exception for a JSON-RPC error code answering ``method``.

    Without a method (a response nobody asked for), the families' base classes.
    """
    cls: type[SwitchvoxRpcError]
    if code == ERROR_NOT_AUTHENTICATED:
        cls = {None: SwitchvoxAuthenticationError, "login": SwitchvoxLoginRefusedError}.get(
            method, SwitchvoxSessionExpiredError
        )
    elif code == ERROR_NOT_AUTHORIZED:
        cls = {None: SwitchvoxNotAuthorizedError, "login": SwitchvoxLoginNotAllowedError}.get(
            method, SwitchvoxRequestNotAllowedError
        )
    elif code == ERROR_ALREADY_AUTHENTICATED:
        cls = SwitchvoxAlreadyAuthenticatedError
    else:
        cls = SwitchvoxRpcError
    return cls(code, message, method)
