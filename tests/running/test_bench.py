"""``streamrl bench`` as a user runs it: the table's shape, not the machine's speed."""

import re

from tests.helpers import streamrl as run


def test_bench_prints_one_row_per_workload_with_every_column():
    result = run("bench", "--steps", "30", "--repeats", "1", "--only", "q:CartPole-v1", "q:BreakoutNoFrameskip-v4")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("algorithm"))
    assert header.split() == ["algorithm", "environment", "env", "only", "torch", "fused", "fused/torch",
                              "fused/env", "p50", "us", "p99", "us", "MB", "torch", "MB", "fused"]
    number = r"[\d,]+(?:\.\d+)?"
    cartpole = next(line for line in lines if line.startswith("q") and "CartPole-v1" in line).split()
    assert len(cartpole) == 11 and all(re.fullmatch(number, value) for value in cartpole[2:])
    # Atari has no fused network: env-only and torch are measured, the fused columns are dashes
    atari = next(line for line in lines if "BreakoutNoFrameskip-v4" in line).split()
    assert len(atari) == 11 and atari[4:7] == ["-", "-", "-"] and atari[10] == "-"
    assert all(re.fullmatch(number, atari[i]) for i in (2, 3, 7, 8, 9))
    assert float(atari[3].replace(",", "")) > 0
    assert "rows without a fused network (Atari): p50 and p99 are the torch backend's" in result.stdout


def test_bench_refuses_a_bad_workload_in_one_line():
    result = run("bench", "--only", "q-CartPole-v1")
    assert result.returncode != 0 and "--only takes ALGO:ENV pairs" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
