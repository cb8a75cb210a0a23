"""A small run of the fuzzer (benchmarks/fuzz.py): hostile stanzas against a thing in its own process.

The full run is a command (``benchmarks/fuzz.py --cases 100000``); this one sends a few hundred
cases of the same grammar and checks the same health: alive, every iq answered, no ERROR record,
memory within the stated bound, a well-behaved subscriber still receiving.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

FUZZ = Path(__file__).resolve().parents[2] / "benchmarks" / "fuzz.py"


def load_fuzzer():
    spec = importlib.util.spec_from_file_location("xiotlab_fuzz", FUZZ)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_a_thing_survives_hostile_stanzas_from_a_friend_and_a_stranger(lab, tmp_path):
    fuzz = load_fuzzer()
    figures = fuzz.run(lab, cases=600, seed=7, minutes=2, log_dir=tmp_path)
    assert figures["cases_sent"] > 500
    assert not figures["crashed"] and figures["online_after"]
    assert figures["unanswered"] == 0, figures["unanswered_first"]
    assert figures["error_records"] == 0, figures["error_records_first"]
    assert figures["rss_within_bound"], (figures["rss_start_mb"], figures["rss_end_mb"])
    assert figures["watcher_values_during_run"] > 0
    assert figures["answered"] == figures["iqs_due_an_answer"]
