import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from fuzz_core import fuzz  # noqa: E402


def test_short_fuzz_run_has_no_exceptions_and_rewards_in_range():
    stats = fuzz(3000, seed=123, progress=False)
    assert stats["strings"] == 3000
    assert stats["exceptions"] == 0 and stats["out_of_range"] == 0
    assert stats["valid"] > 0  # the mutations reach the valid path too, so the check is not vacuous
