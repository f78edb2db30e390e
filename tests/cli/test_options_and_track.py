"""streamrl options (every agent option, its default and meaning) and streamrl train --track
(Weights & Biases, in its offline mode: nothing leaves the machine), through the real command line."""

import glob
import json
import os
import struct

import pytest

from streamrl.algorithms import ALGORITHMS
from streamrl.algorithms.techniques import TECHNIQUES
from streamrl.cli.main import _parse_value
from streamrl.steprules import STEP_RULES
from tests.helpers import streamrl as run
from tests.helpers import streamrl_after


def listed(stdout: str) -> dict[str, tuple[str, str]]:
    """The option lines of streamrl options: name -> (default, meaning)."""
    rows = {}
    for line in stdout.splitlines():
        if line.startswith("  "):
            name, default, meaning = line.split(maxsplit=2)
            rows[name] = (default, meaning)
    return rows


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_options_lists_every_option_with_its_default_and_meaning(algorithm):
    from streamrl.algorithms.options import NOT_SETTABLE

    agent = ALGORITHMS[algorithm]
    result = run("options", algorithm)
    assert result.returncode == 0, result.stderr
    rows = listed(result.stdout)
    expected = {name: default for name, default in agent.all_option_defaults().items() if name not in NOT_SETTABLE}
    assert rows.keys() == expected.keys()
    for name, default in expected.items():  # shown as --set takes it
        given = _parse_value(rows[name][0])
        assert (list(given) if isinstance(given, list) else given) == (list(default) if isinstance(default, tuple)
                                                                       else default), (name, rows[name])
        assert len(rows[name][1]) > 10, (name, rows[name])


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_the_defaults_listed_are_those_an_agent_made_without_options_has(algorithm):
    """A class that changes a default declares it in default_options (and its __init__ applies
    them with _with_defaults), or the list would show its base class's default."""
    import gymnasium as gym

    agent_class = ALGORITHMS[algorithm]
    space = gym.spaces.Box(-1.0, 1.0, (2,)) if algorithm == "avg" else gym.spaces.Discrete(2)  # (AVG: continuous)
    agent = agent_class(observation_space=gym.spaces.Box(-1.0, 1.0, (3,)), action_space=space, seed=0)
    config = agent.config()
    listed = agent_class.all_option_defaults()
    for name, default in listed.items():
        if name in config and default is not None:  # (None: the domain's, which config() resolves)
            assert config[name] == (list(default) if isinstance(default, tuple) else default), (
                f"{agent_class.__name__} makes {name}={config[name]!r} but lists {default!r}: declare it in the "
                "class's default_options and apply them in its __init__ with self._with_defaults(kwargs)")


def test_options_of_the_rule_chosen_and_an_algorithm_s_own_defaults():
    rows = listed(run("options", "iq").stdout)
    assert rows["step_rule"][0] == "intentional" and rows["eta"][0] == "0.25" and "kappa" not in rows
    rows = listed(run("options", "iq", "--set", "step_rule=adaptive").stdout)
    assert rows["step_rule"][0] == "adaptive" and "eta" not in rows
    assert rows["beta2"] == ("0.999", "decay of the running mean of (delta z)^2 that scales the trace")
    ac = run("options", "ac").stdout
    assert "kappa_policy     3.0   kappa, the overshoot bound's scale (larger: smaller steps), of the policy" in ac
    result = run("options", "q", "--set", "lamda=0.9")
    assert result.returncode == 2 and result.stderr == ("streamrl: error: streamrl options takes --set step_rule=NAME "
                                                        "only (to list that rule's options), got 'lamda'\n")


def test_every_option_is_described_in_one_place():
    """An option's meaning is in one table: the agents' OPTION_HELP, the techniques' switches or
    its step rule's OPTION_HELP; none is missing, none is stale."""
    from streamrl.algorithms.options import OPTION_HELP

    places = [set(OPTION_HELP), set(TECHNIQUES), *({*rule.OPTION_HELP} for rule in STEP_RULES.values())]
    rule_tables = places[2:]
    assert not set(OPTION_HELP) & set(TECHNIQUES)
    assert not (set(OPTION_HELP) | set(TECHNIQUES)) & set().union(*rule_tables)
    used = set()
    for agent in ALGORITHMS.values():
        for rule, rule_class in STEP_RULES.items():
            if (rule_class.for_algorithms is not None and agent.algorithm not in rule_class.for_algorithms
                    or agent.step_rules is not None and rule not in agent.step_rules):
                continue  # (a rule of another algorithm's own, or one this algorithm does not take)
            for option in agent.options(rule):
                assert option.meaning, (f"{agent.__name__}'s option {option.name!r} (step rule {rule}) has no "
                                        "description: add it to the rule's OPTION_HELP (or algorithms.options.OPTION_HELP)")
                used.add(option.name.removesuffix("_policy"))
    assert set(OPTION_HELP) | set(TECHNIQUES) | set().union(*rule_tables) <= used


def test_a_mistyped_option_is_named_with_the_right_one(tmp_path):
    result = run("train", "q", "--set", "lambda=0.9", "--out", tmp_path / "run")
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    assert "unknown --set key 'lambda' for StreamQ; did you mean 'lamda'?" in result.stderr
    assert "(streamrl options q says what each means)" in result.stderr
    assert not (tmp_path / "run").exists()


def test_options_of_a_baseline_are_sb3_s_at_the_baseline_s_values():
    pytest.importorskip("stable_baselines3")
    rows = listed(run("options", "ppo1").stdout)
    assert rows["n_steps"] == ("1", "The number of steps to run for each environment per update")
    assert rows["batch_size"][0] == "1" and rows["n_epochs"][0] == "10" and rows["vec_normalize"][0] == "False"


# ---- --track ---------------------------------------------------------------------------------

BLOCK, HEADER = 32768, 7


def wandb_records(path):
    """The protocol-buffer records of an offline run's .wandb file: W&B's header, then LevelDB-log
    blocks of 32 KiB whose records (checksum, length, kind) may be split across blocks."""
    from wandb.proto import wandb_internal_pb2

    data = open(path, "rb").read()
    assert struct.unpack("<4sHB", data[:7])[:2] == (b":W&B", 0xBEE1)
    position, pending = 7, b""
    while position + HEADER <= len(data):
        left = BLOCK - position % BLOCK
        if left < HEADER:  # (the block's tail is padding)
            position += left
            continue
        _, length, kind = struct.unpack("<IHB", data[position:position + HEADER])
        if (length, kind) == (0, 0):
            break
        chunk = data[position + HEADER:position + HEADER + length]
        position += HEADER + length
        pending = chunk if kind in (1, 2) else pending + chunk  # full or first; middle or last
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            yield record


def key(item) -> str:
    """A logged item's name ("episode/return" comes as the nested key episode, return)."""
    return item.key or "/".join(item.nested_key)


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """W&B offline, its files in tmp_path, and any connection it tried would go to a closed local port."""
    for name in ("WANDB_DIR", "WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(name, str(tmp_path / "wandb-files"))
    for name, value in (("WANDB_MODE", "offline"), ("WANDB_ERROR_REPORTING", "false"), ("WANDB_SILENT", "true"),
                        ("WANDB_BASE_URL", "http://127.0.0.1:9"), ("HTTPS_PROXY", "http://127.0.0.1:9"),
                        ("HTTP_PROXY", "http://127.0.0.1:9")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    return tmp_path / "wandb-files"


def test_track_logs_the_run_s_scalars_config_and_summary_to_wandb(tmp_path, offline):
    pytest.importorskip("wandb")
    out = tmp_path / "run"
    result = run("train", "q", "CartPole-v1", "--steps", "3000", "--seed", "1", "--out", out, "--track", "--quiet")
    assert result.returncode == 0, result.stderr
    [path] = glob.glob(str(offline / "wandb" / "offline-run-*" / "run-*.wandb"))
    history, summary, config = [], {}, {}
    for record in wandb_records(path):
        kind = record.WhichOneof("record_type")
        if kind == "history":
            history.append({key(item): json.loads(item.value_json) for item in record.history.item})
        elif kind == "summary":
            summary.update({key(item): json.loads(item.value_json) for item in record.summary.update})
        elif kind == "config":
            config.update({item.key: json.loads(item.value_json) for item in record.config.update})
        elif kind == "run":  # (named after the run folder)
            assert record.run.display_name == "run" and record.run.project == "streamrl"
            config.update({item.key: json.loads(item.value_json) for item in record.run.config.update})
    episodes = [line.split(",") for line in (out / "episodes.csv").read_text().splitlines()[1:]]
    logged = [(row["global_step"], row["episode/return"]) for row in history if "episode/return" in row]
    assert logged == [(int(end), float(ret)) for end, ret, _ in episodes]  # every episode, at its step
    assert [row["global_step"] for row in history if "td_error/mean_abs" in row] == [1000, 2000, 3000]
    run_summary = json.loads((out / "summary.json").read_text())
    assert {k: summary[k] for k in run_summary} == run_summary
    assert config["agent"] == json.loads((out / "config.json").read_text())["agent"]
    assert (config["algorithm"], config["seed"], config["steps"]) == ("q", 1, 3000)


def test_track_without_wandb_or_without_tensorboard_is_one_line(tmp_path, offline):
    result = streamrl_after("import sys; sys.modules['wandb'] = None", "train", "q", "--steps", "100", "--out", tmp_path / "r",
                            "--track")
    assert result.returncode == 2
    assert result.stderr == ("streamrl: error: --track (Weights & Biases) needs the 'wandb' extra: pip install "
                             "\"streamrl[wandb]\"\n")
    assert not (tmp_path / "r").exists()
    result = run("train", "q", "--steps", "100", "--out", tmp_path / "r", "--track", "--no-tensorboard")
    assert result.returncode == 2 and "--track sends the run's TensorBoard scalars" in result.stderr
    result = run("train", "q", "--steps", "100", "--out", tmp_path / "r", "--wandb-project", "x")
    assert result.returncode == 2 and "add --track" in result.stderr
    assert not (tmp_path / "r").exists() and not os.path.exists(offline / "wandb")
