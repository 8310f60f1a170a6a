"""Whose memory the setup of N extensions adds, by file: ``python -m benchmarks.memory``.

The scale scenario measures resident memory; this one says who allocated it (``tracemalloc``
over the setup of one entry, the simulator in this process, its share reported apart), to
tell the integration's own part from Home Assistant's.
"""

import argparse
import asyncio
from collections import Counter
import gc
import tracemalloc

from switchvox_simulator import SwitchvoxSimulator
from switchvox_simulator.load import add_accounts

from .hass_core import home_assistant, preload_integration
from .protocol import PASSWORD, extensions
from .worker import setup_entry

MB = 2**20


def _owner(filename: str) -> str:
    """Return who a source file belongs to: the integration, the simulator, or its path."""
    if "custom_components/switchvox" in filename:
        return "the integration (custom_components/switchvox)"
    if "switchvox_simulator" in filename:
        return "the simulator (in this process only here)"
    return filename.rsplit("site-packages/", 1)[-1]


async def measure(count: int, top: int) -> None:
    """Set up an entry watching ``count`` extensions and print the allocations by owner."""
    sim = SwitchvoxSimulator("127.0.0.1", 0)
    watched = extensions(count)
    add_accounts(sim, watched, PASSWORD)
    await sim.start()
    try:
        async with home_assistant() as hass:
            await preload_integration(hass)
            gc.collect()
            tracemalloc.start(1)
            before = tracemalloc.take_snapshot()
            await setup_entry(hass, sim.port, watched)
            await hass.async_block_till_done()
            gc.collect()
            after = tracemalloc.take_snapshot()
            tracemalloc.stop()
    finally:
        await sim.stop()
    by_owner: Counter[str] = Counter()
    for stat in after.compare_to(before, "filename"):
        by_owner[_owner(stat.traceback[0].filename)] += stat.size_diff
    print(f"{count} extensions: {sum(by_owner.values()) / MB:.1f} MB allocated by the setup")
    for owner, size in by_owner.most_common(top):
        print(f"{size / MB:7.2f} MB  {owner}")


def main() -> None:
    """Parse the command line and measure."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__)
    parser.add_argument("--extensions", type=int, default=1000)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    asyncio.run(measure(args.extensions, args.top))


if __name__ == "__main__":
    main()
