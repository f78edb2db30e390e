"""Agent files written by streamrl 0.1.0 (format 1, kept in tests/algorithms/data) load into this
streamrl with their weights, traces and step-rule state, on both backends' layouts: the fused
one (flat 'w', 'z'; an empty 'v' and a 't' of 0 for ObGD) and the torch one (the module's
parameters; one negated trace and one second moment per parameter; a counter)."""

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open

from streamrl import StreamAgent, make_env
from streamrl.algorithms.agent_file import FORMAT_VERSION, read_metadata

DATA = Path(__file__).parent / "data"


def saved(path: Path) -> tuple[dict, dict]:
    with safe_open(str(path), framework="numpy") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, json.loads(f.metadata()["streamrl"])


def optimizer_state(tensors: dict, learner: str, key: str) -> np.ndarray:
    """One per-parameter optimizer state of a format-1 torch learner, concatenated in parameter order."""
    indices = sorted({int(k.split(".")[2]) for k in tensors if k.startswith(f"{learner}.optim.") and
                      k.count(".") == 3})
    return np.concatenate([tensors[f"{learner}.optim.{i}.{key}"].ravel() for i in indices])


@pytest.mark.parametrize("name", ["q-cartpole-fused-format1", "q-cartpole-torch-adaptive-format1",
                                  "ac-cartpole-torch-format1"])
def test_a_format_1_file_loads_with_its_state(name, tmp_path):
    path = DATA / f"{name}.safetensors"
    tensors, metadata = saved(path)
    assert metadata["format_version"] == 1
    config = json.loads(metadata["config"])
    agent = StreamAgent.load(path, env=make_env("CartPole-v1"))
    assert agent.step_rule == config["optimizer"] and agent.config()["backend"] == config["backend"]
    assert {k: agent.step_rule_options[k] for k in ("lr", "kappa")} == {"lr": config["lr"], "kappa": config["kappa"]}
    if "kappa_policy" in config:
        assert agent.step_rule_options["kappa_policy"] == config["kappa_policy"] == 2.5
    for learner_name, learner in agent.learners.items():
        weights = np.concatenate([p.ravel() for p in learner.parameters()])
        traces = np.concatenate([z.ravel() for z in learner.traces()])
        assert traces.any()
        if config["backend"] == "fused":
            np.testing.assert_array_equal(weights, tensors[f"{learner_name}.w"])
            np.testing.assert_array_equal(traces, tensors[f"{learner_name}.z"])
            continue
        for key, value in learner.module.state_dict().items():
            np.testing.assert_array_equal(value.numpy(), tensors[f"{learner_name}.param.{key}"])
        np.testing.assert_array_equal(traces, -optimizer_state(tensors, learner_name, "eligibility_trace"))
        if agent.step_rule == "adaptive":
            np.testing.assert_array_equal(learner.rule.v, optimizer_state(tensors, learner_name, "v"))
            assert learner.rule.t == int(tensors[f"{learner_name}.optim.counter"]) > 0
    assert agent.num_steps == json.loads(metadata["counters"])["num_steps"] == 301  # (mid-episode: traces non-zero)
    agent.learn(100)  # and it goes on
    agent.save(tmp_path / "again.safetensors")
    assert read_metadata(tmp_path / "again.safetensors")["format_version"] == FORMAT_VERSION == 2
