"""Tests of aioswitchvox that need no Home Assistant: plain pytest runs them."""
