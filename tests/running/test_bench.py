"""``streamrl bench`` as a user runs it: the table's shape, not the machine's speed."""

import re

from tests.helpers import streamrl as run


def test_bench_prints_one_row_per_workload_with_every_column():
    result = run("bench", "--steps", "30", "--repeats", "1", "--only", "q:CartPole-v1", "q:BreakoutNoFrameskip-v4",
                 "ac:HalfCheetah-v5")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("algorithm"))
    assert header.split() == ["algorithm", "environment", "env", "only", "torch", "fused", "net", "only",
                              "fused/torch", "fused/env", "p50", "us", "p99", "us", "MB", "torch", "MB", "fused"]
    number = r"[\d,]+(?:\.\d+)?"
    for algorithm, env_id in (("q", "CartPole-v1"), ("q", "BreakoutNoFrameskip-v4"),  # Atari runs fused too
                              ("ac", "HalfCheetah-v5")):
        row = next(line for line in lines if line.startswith(algorithm) and env_id in line).split()
        assert len(row) == 12 and all(re.fullmatch(number, value) for value in row[2:]), row
        assert float(row[4].replace(",", "")) > 0 and float(row[5].replace(",", "")) > 0  # fused, networks alone
    # nothing but the table: no ALE banner, no MuJoCo model-file warning between its rows
    assert len(lines) == 5 and all(line.strip() for line in lines), result.stdout  # (no bar's empty line either)
    assert not re.search(r"A\.L\.E|Stella|WARNING|MuJoCo", result.stdout + result.stderr), result


def test_bench_refuses_a_bad_workload_in_one_line():
    result = run("bench", "--only", "q-CartPole-v1")
    assert result.returncode != 0 and "--only takes ALGO:ENV pairs" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_compiling_counts_in_no_worker_s_memory(tmp_path):
    """On a machine's first run (an empty Numba cache) the kernels are compiled before the workers
    start: compiling peaks at ~370 MB, the fused CartPole worker itself at ~170."""
    import os
    import subprocess

    from tests.helpers import STREAMRL

    result = subprocess.run([STREAMRL, "bench", "--steps", "30", "--repeats", "1", "--only", "q:CartPole-v1"],
                            capture_output=True, text=True, timeout=600,
                            env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")})
    assert result.returncode == 0, result.stderr
    assert any((tmp_path / "numba-cache").rglob("*.nbc"))  # the cache really started empty and was filled
    row = next(line for line in result.stdout.splitlines() if line.startswith("q ")).split()
    assert float(row[-1]) < 250, result.stdout


def test_a_worker_that_dies_is_named_with_its_exit_code_instead_of_waited_for():
    """A worker killed for memory or crashed in compiled code sends nothing: the bench says so."""
    import multiprocessing as mp
    import os

    from streamrl.running.throughput import _answer

    context = mp.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=os._exit, args=(3,))  # (dies at once, holding no end of the pipe)
    process.start()
    child.close()
    assert _answer(parent, process) == "the process died with exit code 3"
