"""An idle bot process for the memory benchmark: start the runtime and scheduler, wait, report peak RSS."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bench.memory import peak_rss_kib
from bench.run import Sink
from bot.config import load_settings
from bot.runtime import Runtime
from bot.scheduler import build_scheduler
from storage.migrate import upgrade


async def idle(url: str) -> None:
    upgrade(url)
    settings = load_settings(Path(__file__).parent.parent / "app.yaml")
    runtime = await Runtime.start(settings, Sink(), url=url)
    scheduler = build_scheduler(runtime)
    scheduler.start()
    await asyncio.sleep(3)
    scheduler.shutdown(wait=False)
    await runtime.close()


if __name__ == "__main__":
    asyncio.run(idle(sys.argv[1]))
    print(peak_rss_kib())
