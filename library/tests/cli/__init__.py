"""Tests of the aioswitchvox command line."""
