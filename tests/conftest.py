"""Test-suite-wide settings.

Hypothesis: no per-example deadline. CI and developer machines here have 2 cores
shared with servers the tests start, so a slow example is load, not a bug;
correctness is what the properties assert (performance has its benchmarks).
"""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "gridwatch", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("gridwatch")


def _memory_watchdog(limit_bytes: int) -> None:
    """Ends the run with every thread's stack when the test process outgrows ``limit_bytes``.

    A leaked publisher or an unbounded queue would otherwise swap the machine until CI's
    time limit; this turns it into a quick failure that says where it happened.
    """
    import faulthandler
    import os
    import sys
    import threading
    import time

    page = os.sysconf("SC_PAGE_SIZE")

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                with open("/proc/self/statm", encoding="ascii") as f:
                    rss = int(f.read().split()[1]) * page
            except OSError:
                return
            if rss > limit_bytes:
                sys.stderr.write(f"\ntest process RSS {rss >> 20} MiB > {limit_bytes >> 20} MiB\n")
                faulthandler.dump_traceback(all_threads=True)
                os._exit(3)

    threading.Thread(target=watch, name="memory-watchdog", daemon=True).start()


_memory_watchdog(3 << 30)
