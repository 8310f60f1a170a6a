"""Repair issues: what the user must change when retrying alone cannot help."""

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import (
    CONF_EXTENSION,
    DOMAIN,
    ISSUE_NOT_AUTHORIZED,
    ISSUE_SESSIONS_CLOSED,
    ISSUE_USER_ACTION,
    LOGGER,
)
from .rtapi import SwitchvoxError, SwitchvoxLoginNotAllowedError, SwitchvoxTLSError

# Failures retrying alone cannot fix: a certificate that fails verification needs a trusted one
# or the verify option off; an extension not allowed the API needs the PBX admin to allow it.
USER_ACTION_ERRORS = (SwitchvoxTLSError, SwitchvoxLoginNotAllowedError)


def user_action_key(err: SwitchvoxError) -> str:
    """Return the translation key naming what to change for a failure retrying cannot fix."""
    return "certificate_verify_failed" if isinstance(err, SwitchvoxTLSError) else "api_not_allowed"


@callback
def async_update_refused_issue(
    hass: HomeAssistant, entry: ConfigEntry, refused: frozenset[str]
) -> None:
    """Raise, or clear, the issue naming the extensions the PBX does not let us watch."""
    issue_id = f"{ISSUE_NOT_AUTHORIZED}_{entry.entry_id}"
    if not refused:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    LOGGER.warning(
        "The Switchvox PBX does not allow extension %s to watch %s",
        entry.data[CONF_EXTENSION],
        ", ".join(sorted(refused)),
    )
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_NOT_AUTHORIZED,
        translation_placeholders={
            "extension": entry.data[CONF_EXTENSION],
            "extensions": ", ".join(sorted(refused)),
            "title": entry.title,
        },
    )


@callback
def async_update_user_action_issue(
    hass: HomeAssistant, entry: ConfigEntry, error: SwitchvoxError | None
) -> None:
    """Raise the issue naming what to change (certificate, API permission), or clear it."""
    _async_update_entry_issue(
        hass,
        entry,
        ISSUE_USER_ACTION,
        None if error is None else user_action_key(error),
        ir.IssueSeverity.ERROR,
    )


@callback
def async_update_sessions_closed_issue(
    hass: HomeAssistant, entry: ConfigEntry, unstable: bool
) -> None:
    """Raise the issue of a PBX that keeps closing our sessions, or clear it once one stays."""
    _async_update_entry_issue(
        hass,
        entry,
        ISSUE_SESSIONS_CLOSED,
        ISSUE_SESSIONS_CLOSED if unstable else None,
        ir.IssueSeverity.WARNING,
    )


@callback
def _async_update_entry_issue(
    hass: HomeAssistant,
    entry: ConfigEntry,
    issue: str,
    translation_key: str | None,
    severity: ir.IssueSeverity,
) -> None:
    """Raise an entry's issue, naming its PBX and login extension; clear it with no key."""
    issue_id = f"{issue}_{entry.entry_id}"
    if translation_key is None:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=False,
        severity=severity,
        translation_key=translation_key,
        translation_placeholders={
            "title": entry.title,
            "host": entry.data[CONF_HOST],
            "extension": entry.data[CONF_EXTENSION],
        },
    )
