"""Training the standard agents must not need PyTorch: run them in a process where importing
torch fails, as it does on an install without the torch extra."""

import subprocess
import sys

SCRIPT = """
import sys
sys.modules["torch"] = None  # any "import torch" now raises ImportError
from streamrl import StreamAC, StreamQ, make_env
StreamQ(make_env("CartPole-v1", seed=0), seed=0).learn(200)
StreamAC(make_env("Pendulum-v1", seed=0), seed=0).learn(200)
StreamQ(make_env("MinAtar/Breakout-v1", seed=0), seed=0).learn(100)
StreamQ(make_env("BreakoutNoFrameskip-v4", seed=0), seed=0).learn(50)  # the Atari CNN is fused too
try:
    StreamQ(make_env("CartPole-v1"), backend="torch")
except ImportError as e:
    print("torch backend:", e)
print("ok")
"""


def test_standard_agents_train_without_torch():
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout
    message = "the mlp network on torch needs the 'torch' extra: pip install \"streamrl[torch]\""
    assert f"torch backend: {message}" in result.stdout
