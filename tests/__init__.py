"""Tests for the Switchvox integration, its client and its simulator."""
