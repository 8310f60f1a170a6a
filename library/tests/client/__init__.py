"""Tests of the Switchvox Realtime API client library (aioswitchvox)."""
