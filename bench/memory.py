"""Peak resident memory of this process, read from VmHWM (which starts afresh at exec).

`python -m bench.memory` prints it for a bare interpreter: the baseline of the idle-bot figure.
"""

from __future__ import annotations

import re


def peak_rss_kib() -> int:
    """Return this process's peak resident set size in KiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        return int(re.search(r"VmHWM:\s+(\d+)", status.read())[1])


if __name__ == "__main__":
    print(peak_rss_kib())
