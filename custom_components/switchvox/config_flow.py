"""Config flow for Switchvox: PBX address and an extension's credentials, checked by logging in."""

from collections.abc import Mapping, Sequence
import contextlib
import re
from typing import Any, override

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigEntryState,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_SSL, CONF_VERIFY_SSL
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import voluptuous as vol

from .address import InvalidAddressError, parse_address
from .const import (
    CONF_ASSIST_ANY_NUMBER,
    CONF_EXTENSION,
    CONF_EXTENSIONS,
    DEFAULT_PORT,
    DEFAULT_SSL,
    DEFAULT_VERIFY_SSL,
    DOMAIN,
    LOGGER,
    WATCHED_EXTENSION_PATTERN,
)
from .helpers import client_from_config, watched_extensions
from .rtapi import (
    SwitchvoxConnectionError,
    SwitchvoxError,
    SwitchvoxLoginNotAllowedError,
    SwitchvoxLoginRefusedError,
    SwitchvoxSessionExpiredError,
    SwitchvoxTLSError,
)

_PORT_SELECTOR = vol.All(
    NumberSelector(NumberSelectorConfig(min=1, max=65535, mode=NumberSelectorMode.BOX)),
    vol.Coerce(int),
)
_CONNECTION_FIELDS: dict[vol.Marker, Any] = {
    vol.Required(CONF_HOST): TextSelector(),
    vol.Required(CONF_PORT, default=DEFAULT_PORT): _PORT_SELECTOR,
    vol.Required(CONF_SSL, default=DEFAULT_SSL): bool,
    vol.Required(CONF_VERIFY_SSL, default=DEFAULT_VERIFY_SSL): bool,
}
_PASSWORD_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))

USER_SCHEMA = vol.Schema(
    {
        **_CONNECTION_FIELDS,
        vol.Required(CONF_EXTENSION): TextSelector(),
        vol.Required(CONF_PASSWORD): _PASSWORD_SELECTOR,
    }
)
RECONFIGURE_SCHEMA = vol.Schema(_CONNECTION_FIELDS)
REAUTH_SCHEMA = vol.Schema({vol.Required(CONF_PASSWORD): _PASSWORD_SELECTOR})


class RefusedExtensionsError(SwitchvoxError):
    """The PBX refused to let the login extension watch some extensions."""

    def __init__(self, extensions: Sequence[str]) -> None:
        self.extensions = tuple(extensions)
        super().__init__(", ".join(self.extensions))


def entry_match(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return what identifies an entry: one login extension on one PBX address.

    The PBX reports no serial number, and a host is no unique id: entries are matched by data.
    """
    return {key: data[key] for key in (CONF_HOST, CONF_PORT, CONF_EXTENSION)}


def _normalize(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Read the address as typed (a URL sets the port and HTTPS) and trim the extension.

    Raises ``InvalidAddressError`` when the host field holds no address.
    """
    data = dict(user_input)
    address = parse_address(data[CONF_HOST])
    data[CONF_HOST] = address.host
    if address.port is not None:
        data[CONF_PORT] = address.port
    if address.ssl is not None:
        data[CONF_SSL] = address.ssl
    if CONF_EXTENSION in data:
        data[CONF_EXTENSION] = str(data[CONF_EXTENSION]).strip()
    return data


async def async_validate(
    hass: HomeAssistant, data: Mapping[str, Any], extensions: Sequence[str] = ()
) -> None:
    """Log in with ``data`` (and try watching ``extensions``) on a short-lived session."""
    client = client_from_config(hass, data)
    try:
        await client.connect()
        await client.login(data[CONF_EXTENSION], data[CONF_PASSWORD])
        refused = await client.subscribe_permitted(extensions)
        with contextlib.suppress(SwitchvoxError):
            await client.logout()
    finally:
        await client.disconnect()
    if refused:
        raise RefusedExtensionsError(refused)


async def async_validate_errors(
    hass: HomeAssistant, data: Mapping[str, Any], extensions: Sequence[str] = ()
) -> tuple[dict[str, str], dict[str, str]]:
    """Validate and return the form errors and their description placeholders."""
    try:
        await async_validate(hass, data, extensions)
    except RefusedExtensionsError as err:
        return {CONF_EXTENSIONS: "not_authorized"}, {"extensions": ", ".join(err.extensions)}
    except SwitchvoxTLSError:
        return {"base": "certificate_verify_failed"}, {}
    except SwitchvoxConnectionError, SwitchvoxSessionExpiredError:
        # An expired session is the PBX's doing, not the credentials': trying again may work.
        return {"base": "cannot_connect"}, {}
    except SwitchvoxLoginRefusedError:
        return {"base": "invalid_auth"}, {}
    except SwitchvoxLoginNotAllowedError:
        return {"base": "not_authorized"}, {"extensions": data[CONF_EXTENSION]}
    except Exception:  # noqa: BLE001
        LOGGER.exception("Unexpected error while validating the Switchvox login")
        return {"base": "unknown"}, {}
    return {}, {}


class SwitchvoxConfigFlow(ConfigFlow, domain=DOMAIN):
    """Set up a Switchvox PBX login."""

    VERSION = 1
    MINOR_VERSION = 2

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: ConfigEntry) -> SwitchvoxOptionsFlow:
        """Return the options flow (which extensions to watch)."""
        return SwitchvoxOptionsFlow()

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the PBX address and an extension's credentials."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            try:
                data = _normalize(user_input)
            except InvalidAddressError as err:
                errors[CONF_HOST] = err.reason
            else:
                self._async_abort_entries_match(entry_match(data))
                errors, placeholders = await async_validate_errors(self.hass, data)
                if not errors:
                    return self.async_create_entry(
                        title=f"{data[CONF_EXTENSION]} @ {data[CONF_HOST]}", data=data
                    )
                user_input = data  # the form shows the address as it was read
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(USER_SCHEMA, user_input),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Start reauthentication after the PBX refused the stored password."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for the extension's new password."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            errors, placeholders = await async_validate_errors(
                self.hass, {**entry.data, **user_input}
            )
            if not errors:
                return self.async_update_reload_and_abort(entry, data_updates=user_input)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=REAUTH_SCHEMA,
            errors=errors,
            description_placeholders={
                **placeholders,
                CONF_EXTENSION: entry.data[CONF_EXTENSION],
                CONF_HOST: entry.data[CONF_HOST],
            },
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change how to reach the PBX (address, port, TLS)."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            try:
                updates = _normalize(user_input)
            except InvalidAddressError as err:
                errors[CONF_HOST] = err.reason
            else:
                data = {**entry.data, **updates}
                if entry_match(data) != entry_match(entry.data):
                    self._async_abort_entries_match(entry_match(data))
                errors, placeholders = await async_validate_errors(self.hass, data)
                if not errors:
                    return self.async_update_reload_and_abort(entry, data_updates=updates)
                user_input = updates  # the form shows the address as it was read
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                RECONFIGURE_SCHEMA, user_input or entry.data
            ),
            errors=errors,
            description_placeholders=placeholders,
        )


class SwitchvoxOptionsFlow(OptionsFlowWithReload):
    """Choose which extensions to watch (the PBX must allow each) and what Assist may dial.

    Only an added extension needs the PBX: removals and the Assist setting save at once, and an
    added extension the PBX cannot be asked about now is saved unchecked (the next session
    subscribes to it; the refused-extensions repair issue names it if the PBX refuses).
    """

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the extensions to watch; check the added ones with the PBX if it answers."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {"extensions": ""}
        current = list(watched_extensions(self.config_entry))
        any_number = self.config_entry.options.get(CONF_ASSIST_ANY_NUMBER, False)
        if user_input is not None:
            any_number = user_input.get(CONF_ASSIST_ANY_NUMBER, False)
            extensions = list(dict.fromkeys(e.strip() for e in user_input[CONF_EXTENSIONS]))
            invalid = [e for e in extensions if not re.fullmatch(WATCHED_EXTENSION_PATTERN, e)]
            if not extensions:
                errors[CONF_EXTENSIONS] = "no_extensions"
            elif invalid:
                errors[CONF_EXTENSIONS] = "invalid_extension"
                placeholders["extensions"] = ", ".join(invalid)
            elif refused := await self._async_refused([e for e in extensions if e not in current]):
                errors[CONF_EXTENSIONS] = "not_authorized"
                placeholders["extensions"] = ", ".join(refused)
            if not errors:
                return self.async_create_entry(
                    data={CONF_EXTENSIONS: extensions, CONF_ASSIST_ANY_NUMBER: any_number}
                )
            current = extensions
        schema = vol.Schema(
            {
                vol.Required(CONF_EXTENSIONS, default=current): SelectSelector(
                    SelectSelectorConfig(options=current, multiple=True, custom_value=True)
                ),
                vol.Required(CONF_ASSIST_ANY_NUMBER, default=any_number): bool,
            }
        )
        return self.async_show_form(
            step_id="init", data_schema=schema, errors=errors, description_placeholders=placeholders
        )

    async def _async_refused(self, added: Sequence[str]) -> tuple[str, ...]:
        """Return the added extensions the PBX refuses to let the login watch.

        Asked on the live session when it is up (one login has one session: a second one just
        to check would be a second login), else on a short-lived one. A PBX that cannot be asked
        now refuses nothing: the next session checks.
        """
        if not added:
            return ()
        entry = self.config_entry
        try:
            if entry.state is ConfigEntryState.LOADED and entry.runtime_data.session.up:
                refused: tuple[str, ...] = await entry.runtime_data.client.subscribe_permitted(
                    added
                )
                return refused
            await async_validate(self.hass, entry.data, added)
        except RefusedExtensionsError as err:
            return err.extensions
        except SwitchvoxError as err:
            LOGGER.debug("Saving %s unchecked, the PBX cannot tell now: %s", added, err)
        except Exception:  # noqa: BLE001 - a bug must not keep the user from saving
            LOGGER.exception(
                "Unexpected error while checking extensions %s; saved unchecked", added
            )
        return ()
