"""The promotion lock: a holder killed mid-promotion does not block the retry on its host."""

import subprocess
import sys
import time

import pytest

from mlgate.lake.store import Lake
from mlgate.promote.registry import PromotionError, promotion_lock

HOLD_AND_DIE = """
import os, signal, sys
from mlgate.lake.store import Lake
from mlgate.promote.registry import promotion_lock
with promotion_lock(Lake.from_uri(sys.argv[1]), "m"):
    os.kill(os.getpid(), signal.SIGKILL)  # killed while the aliases move
"""


def test_a_lock_whose_holder_was_killed_is_taken_at_once(tmp_path):
    uri = f"file://{tmp_path / 'lake'}"
    died = subprocess.run([sys.executable, "-c", HOLD_AND_DIE, uri], capture_output=True)
    assert died.returncode == -9, died.stderr
    lake = Lake.from_uri(uri)
    assert lake.read_control("locks/m/promotion")  # the dead holder's lock is still there
    started = time.monotonic()
    with promotion_lock(lake, "m", wait_seconds=5):
        pass
    assert time.monotonic() - started < 5  # not the 15 minutes of a stale lock


def test_a_live_holder_keeps_the_lock(tmp_path):
    lake = Lake.from_uri(f"file://{tmp_path / 'lake'}")
    with promotion_lock(lake, "m"):
        with pytest.raises(PromotionError, match="another promotion or rollback holds the lock"):
            with promotion_lock(lake, "m", wait_seconds=0.5):
                pass
