"""Child processes the tests start (workers, servers) never outlive the test run."""

import ctypes
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """For Popen's preexec_fn: the child gets SIGTERM when the process that started it dies
    (Linux), so a test run killed half way leaves no worker reading its queue or server on
    its port. Elsewhere it does nothing."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
