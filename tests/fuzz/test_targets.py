"""Each fuzz target (fuzz/, RELIABILITY T3) for a fixed number of inputs from a fixed seed, in a
subprocess (atheris.Fuzz exits the process): fails on any input that breaks the target's contract.
``make fuzz`` runs them for 5 minutes each."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fuzz import TARGETS

pytestmark = pytest.mark.fuzz
ROOT = Path(__file__).resolve().parents[2]
RUNS = 50_000  # a few seconds each on one core (money is quicker)


@pytest.mark.parametrize("target", TARGETS)
def test_the_target_finds_nothing(target: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-m", "fuzz", target, f"-runs={RUNS}", "-seed=1", "-timeout=20"],
        cwd=tmp_path,  # crash files land in tmp_path/build/fuzz/<target>/
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # the target's traceback is on stdout, libFuzzer's report on stderr
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    assert f"Done {RUNS} runs" in done.stdout
