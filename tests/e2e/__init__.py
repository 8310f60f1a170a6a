"""Browser end-to-end tests (run with ./scripts/e2e)."""
