"""Tests of the Switchvox Realtime API client library (custom_components.switchvox.rtapi)."""
