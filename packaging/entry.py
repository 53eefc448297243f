"""Entry script of the PyInstaller binary: the same `openim` command as the installed console script.

A one-file executable runs as two processes: the bootloader, which unpacks the archive and forwards signals,
and this Python process. When the bootloader dies without forwarding anything (SIGKILL, the OOM killer, a
supervisor killing the pid it knows), this process would live on, orphaned, holding the server's ports, and
the restarted server could not bind them. So on Linux it asks for SIGTERM when its parent goes away: the
graceful shutdown path, bounded by the config's shutdown_timeout.
"""

import os
import signal
import sys


def _die_with_bootloader() -> None:
    if not (getattr(sys, "frozen", False) and sys.platform.startswith("linux")):
        return
    import ctypes

    pr_set_pdeathsig = 1
    parent = os.getppid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the bootloader died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


if __name__ == "__main__":
    _die_with_bootloader()

    from openim.cli import main

    main()
