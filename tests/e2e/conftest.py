"""Browser end-to-end tests: skipped unless SWITCHVOX_E2E=1 (``./scripts/e2e`` sets it)."""

from collections.abc import Generator
import os

import pytest

E2E_ENV = "SWITCHVOX_E2E"


def pytest_configure(config: pytest.Config) -> None:
    """Register the e2e marker (also when the repository's configuration is in use)."""
    config.addinivalue_line(
        "markers", "e2e: browser end-to-end test (real Home Assistant, simulator and Chromium)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the browser tests unless asked for."""
    if os.environ.get(E2E_ENV) == "1":
        return
    skip = pytest.mark.skip(reason=f"browser end-to-end test: run ./scripts/e2e ({E2E_ENV}=1)")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so fixtures can tell that a test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report
