"""A stage runner for the worker pool's tests: run_stage, except that reading a file whose name
starts with `crash` kills the process running it, as a crash in a reader's native code does.
Workers import it by name, so it lives in a module of its own."""
from __future__ import annotations

import os
import signal

from pipeline.lib import runner


def run_or_crash(name: str, given) -> runner.Outcome:
    if name == "documents" and given.doc_id.startswith("crash"):
        os.kill(os.getpid(), signal.SIGSEGV)
    return runner.run_stage(name, given)
