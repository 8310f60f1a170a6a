"""Tests for the Switchvox PBX simulator."""
