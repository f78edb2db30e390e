"""TensorBoard scalars: written without torch, read back by TensorBoard itself."""

import subprocess
import sys

import pytest

from streamrl.algorithms import Episode, StepInfo
from streamrl.core.tensorboard import ScalarLog

pytest.importorskip("tensorboardX")
pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402


def read(log_dir, tag):
    events = EventAccumulator(str(log_dir))
    events.Reload()
    return [(e.step, e.value) for e in events.Scalars(tag)] if tag in events.Tags()["scalars"] else []


def test_the_scalar_log_does_not_import_torch(tmp_path):
    pytest.importorskip("torch")  # (installed, so that not importing it means something)
    code = ("import sys; from streamrl.core.tensorboard import ScalarLog; log = ScalarLog(sys.argv[1]); "
            "log.add_scalar('x', 1.0, 1); log.close(); print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
    assert read(tmp_path, "x") == [(1, 1.0)]


def test_episodes_and_windows_read_back_and_a_resumed_log_drops_what_came_after_its_step(tmp_path, monkeypatch):
    import time

    # Both logs are made within one second (event files are named by the second): the resumed
    # log's file must not replace the first one.
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now)
    log = ScalarLog(tmp_path, window=3)
    for step, ret in ((10, 1.5), (20, 2.5), (30, 3.5)):
        log.episode(Episode(step, ret, 10))
    for step, delta in enumerate((1.0, -3.0, 2.0), start=1):
        log.step(step, StepInfo(delta, 0.5 * step, step == 2, step == 3))
    log.close()
    assert read(tmp_path, "episode/return") == [(10, 1.5), (20, 2.5), (30, 3.5)]
    assert read(tmp_path, "td_error/mean_abs") == [(3, 2.0)]
    assert read(tmp_path, "td_error/max_abs") == [(3, 3.0)]
    assert read(tmp_path, "step_size/mean") == [(3, 1.0)]
    assert read(tmp_path, "step_size/bound_active_fraction") == [(3, pytest.approx(1 / 3))]
    assert read(tmp_path, "overshoot/count") == [(3, 1.0)]
    resumed = ScalarLog(tmp_path, window=3, purge_step=15)  # resumed from a checkpoint at step 14
    resumed.episode(Episode(25, 9.0, 11))
    resumed.close()
    resumed.close()  # a second close does nothing
    assert read(tmp_path, "episode/return") == [(10, 1.5), (25, 9.0)]
    assert len(list(tmp_path.glob("events.out.tfevents.*"))) == 2


def test_episodes_alone_reach_the_disk_every_flush_interval(tmp_path, monkeypatch):
    """A run that logs only episodes (the Stable-Baselines3 baselines) is flushed by its scalars."""
    from streamrl.core import tensorboard as scalars

    clock = [1000.0]
    monkeypatch.setattr(scalars.time, "monotonic", lambda: clock[0])
    log = ScalarLog(tmp_path)
    log.episode(Episode(10, 1.5, 10))
    assert read(tmp_path, "episode/return") == []  # buffered
    clock[0] += scalars.FLUSH_SECONDS
    log.episode(Episode(20, 2.5, 10))
    assert read(tmp_path, "episode/return") == [(10, 1.5), (20, 2.5)]
    log.close()


def test_intentional_updates_log_their_output_change_ratio(tmp_path):
    """The method's own diagnostic, per window: the output's first-order change over the intended
    one, for the value network and the policy; absent for a rule that has none."""
    log = ScalarLog(tmp_path / "i", window=2)
    for step, (value, policy) in enumerate(((0.5, 0.9), (0.7, 1.1)), start=1):
        log.step(step, StepInfo(1.0, 0.1, False, change_ratio=value, actor_change_ratio=policy))
    log.close()
    assert read(tmp_path / "i", "change_ratio/value") == [(2, pytest.approx(0.6))]
    assert read(tmp_path / "i", "change_ratio/policy") == [(2, pytest.approx(1.0))]
    plain = ScalarLog(tmp_path / "o", window=1)
    plain.step(1, StepInfo(1.0, 0.1, True))
    plain.close()
    assert read(tmp_path / "o", "change_ratio/value") == [] and read(tmp_path / "o", "step_size/mean") == [(1, pytest.approx(0.1))]
