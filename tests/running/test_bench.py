"""``streamrl bench`` as a user runs it: the table's shape, not the machine's speed."""

import contextlib
import os
import re
import signal
import subprocess
import time

from tests.helpers import streamrl as run


def test_bench_prints_one_row_per_workload_with_every_column():
    result = run("bench", "--steps", "30", "--repeats", "1", "--only", "q:CartPole-v1", "q:BreakoutNoFrameskip-v4",
                 "ac:HalfCheetah-v5", "iac:HalfCheetah-v5")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("algorithm"))
    assert header.split() == ["algorithm", "environment", "env", "only", "torch", "fused", "net", "only",
                              "fused/torch", "fused/env", "p50", "us", "p99", "us", "MB", "torch", "MB", "fused"]
    number = r"[\d,]+(?:\.\d+)?"
    for algorithm, env_id in (("q", "CartPole-v1"), ("q", "BreakoutNoFrameskip-v4"),  # Atari runs fused too
                              ("ac", "HalfCheetah-v5"), ("iac", "HalfCheetah-v5")):
        row = next(line for line in lines if line.startswith(algorithm) and env_id in line).split()
        assert len(row) == 12 and all(re.fullmatch(number, value) for value in row[2:]), row
        assert float(row[4].replace(",", "")) > 0 and float(row[5].replace(",", "")) > 0  # fused, networks alone
    # nothing but the table: no ALE banner, no MuJoCo model-file warning between its rows
    assert len(lines) == 6 and all(line.strip() for line in lines), result.stdout  # (no bar's empty line either)
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

    from streamrl.running.bench import _answer

    context = mp.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=os._exit, args=(3,))  # (dies at once, holding no end of the pipe)
    process.start()
    child.close()
    assert _answer(parent, process) == "the process died with exit code 3"


def stat_fields(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name: state, parent, ..., utime, stime, ...
    (raises OSError once the process is gone)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def test_busy_processes_spin_while_the_block_runs_and_are_gone_after():
    """``--busy N``: N real processes take CPU time during the bench and none outlives it."""
    from streamrl.running.bench import busy

    def cpu_seconds(pid: int) -> float:
        fields = stat_fields(pid)
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    with busy(2) as spinners:
        assert len(spinners) == 2 and all(p.is_alive() for p in spinners)
        used = [cpu_seconds(p.pid) for p in spinners]
        deadline = time.time() + 120  # (only a spinner that never runs waits this long)
        while not all(cpu_seconds(p.pid) > u for p, u in zip(spinners, used)):
            assert time.time() < deadline and all(p.is_alive() for p in spinners), "a spinner took no CPU time"
            time.sleep(0.05)
    assert all(not p.is_alive() and p.exitcode is not None for p in spinners)


def test_bench_with_busy_processes_says_so_in_its_header():
    result = run("bench", "--steps", "30", "--repeats", "1", "--busy", "1", "--only", "q:CartPole-v1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith("; 1 busy process sharing the machine"), lines[0]
    assert len(lines) == 3 and lines[2].startswith("q "), result.stdout


def test_bench_refuses_a_negative_number_of_busy_processes():
    result = run("bench", "--busy", "-1")
    assert result.returncode != 0 and "--busy takes a number of processes, 0 or more, not -1" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent = int(stat_fields(int(entry))[1])
            except OSError:  # (it ended meanwhile)
                continue
            if parent == pid:
                found.add(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        return stat_fields(pid)[0] != "Z"  # (a zombie has ended)
    except OSError:
        return False


def ignores_sigint(pid: int) -> bool:
    """Whether the process ignores SIGINT now (its SigIgn mask in /proc/PID/status)."""
    with open(f"/proc/{pid}/status") as f:
        mask = next(int(line.split()[1], 16) for line in f if line.startswith("SigIgn:"))
    return bool(mask & (1 << (signal.SIGINT - 1)))


def bench_under_way() -> tuple[subprocess.Popen, set[int]]:
    """A real bench with one spinner (in a session of its own, as a terminal's job is), once all six
    children run (the spinner, multiprocessing's resource tracker and the four workers) and the
    bench has started its last one: while it starts a child it ignores SIGINT itself (see
    bench._start_deaf_to_ctrl_c), so a Ctrl-C then would be lost. Its 1,000 repeats would take
    hours: a bench that waited for its workers instead of stopping them would not end in time."""
    from tests.helpers import STREAMRL, ctrl_c_as_from_a_terminal, wait_until

    process = subprocess.Popen([STREAMRL, "bench", "--steps", "2000", "--repeats", "1000", "--busy", "1", "--only",
                                "q:CartPole-v1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True, preexec_fn=ctrl_c_as_from_a_terminal)
    # (a killed bench's children end by themselves)
    wait_until(lambda: len(children_of(process.pid)) >= 6 and not ignores_sigint(process.pid), process)
    return process, children_of(process.pid)


def gone_soon(pids: set[int]) -> bool:
    deadline = time.time() + 120  # (only a process that never ends waits this long)
    while any(alive(pid) for pid in pids) and time.time() < deadline:
        time.sleep(0.1)
    return not any(alive(pid) for pid in pids)


def test_ctrl_c_stops_the_bench_in_one_line_and_its_processes_with_it():
    process, children = bench_under_way()
    try:
        os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
        _, stderr = process.communicate(timeout=300)  # (the workers are stopped, not waited for through their repeats)
        assert process.returncode == 130 and stderr.strip() == "streamrl: interrupted", stderr  # no child's traceback
        assert gone_soon(children)
    finally:
        with contextlib.suppress(ProcessLookupError):  # (a failed check leaves no CPU-bound process behind)
            os.killpg(process.pid, signal.SIGKILL)


def test_a_killed_bench_leaves_no_process_behind_and_nothing_said():
    """SIGTERM ends the bench with no cleanup: its spinner notices by itself, its workers by their
    pipes, and they end without a traceback."""
    process, children = bench_under_way()
    try:
        process.terminate()
        _, stderr = process.communicate(timeout=120)  # (the children hold stderr too: this waits for them)
        assert gone_soon(children), [pid for pid in children if alive(pid)]
        assert "Traceback" not in stderr, stderr
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
