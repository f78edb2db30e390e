"""``streamrl train --label`` (the run's group in reports) and ``--progress-file`` (what a sweep
reads to count steps)."""

import json

from tests.helpers import streamrl


def test_label_defaults_to_the_algorithm_and_is_kept_on_resume(tmp_path):
    plain, labelled, from_file = tmp_path / "plain", tmp_path / "labelled", tmp_path / "from_file"
    assert streamrl("train", "sarsa", "--steps", 600, "--out", plain, "--quiet").returncode == 0
    assert json.loads((plain / "config.json").read_text())["label"] == "sarsa"
    result = streamrl("train", "q", "--steps", 600, "--out", labelled, "--quiet", "--label", "q-lamda-0.5",
                      "--set", "lamda=0.5", "--checkpoint-every", 100)
    assert result.returncode == 0, result.stderr
    assert json.loads((labelled / "config.json").read_text())["label"] == "q-lamda-0.5"
    config = tmp_path / "run.toml"
    config.write_text('label = "from-the-file"\nsteps = 300\n')
    assert streamrl("train", "--config", config, "--out", from_file, "--quiet").returncode == 0
    assert json.loads((from_file / "config.json").read_text())["label"] == "from-the-file"

    extended = streamrl("train", "--resume", labelled, "--steps", 900, "--quiet")
    assert extended.returncode == 0, extended.stderr
    saved = json.loads((labelled / "config.json").read_text())
    assert (saved["label"], saved["steps"]) == ("q-lamda-0.5", 900)
    relabel = streamrl("train", "--resume", labelled, "--steps", 1200, "--label", "other", "--quiet")
    assert relabel.returncode == 2 and relabel.stderr == (
        "streamrl: error: --label cannot change a run being resumed: its label is in its config.json\n")


def test_progress_file_holds_the_step_count(tmp_path):
    out, progress = tmp_path / "run", tmp_path / "progress.json"
    result = streamrl("train", "q", "--steps", 3000, "--out", out, "--quiet", "--no-tensorboard",
                      "--progress-file", progress)
    assert result.returncode == 0, result.stderr
    written = json.loads(progress.read_text())
    # Written at the first check (step 256), then every 2 s at a multiple of 256 steps, and at the end.
    assert written == {"step": 3000, "steps": 3000}
    assert not list(tmp_path.glob(".*.tmp"))
