"""The aioswitchvox distribution: its tests (the package itself is src/aioswitchvox)."""
