"""Stream TD(lambda) predicting the discounted future air temperature from hourly weather.

    python examples/predict_weather.py [--out weather_prediction.png]

The data (8,760 hourly rows, 7 columns) ships with pvlib; nothing is downloaded.
"""

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from streamrl.data import load_weather, predict_rows  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("--out", default="weather_prediction.png")
parser.add_argument("--gamma", type=float, default=0.99)
args = parser.parse_args()

ts = load_weather()
temperature = ts.column("Dry-bulb (C)")
result = predict_rows(ts.values, temperature, gamma=args.gamma, seed=0)
n, h = len(temperature), result.horizon
running_mean = np.cumsum(temperature) / np.arange(1, n + 1) / (1 - args.gamma)
baseline = float(np.sqrt(np.mean((running_mean[n // 2:n - h] - result.returns[n // 2:n - h]) ** 2)))
print(f"RMS error, second half of the year: Stream TD {result.rmse(n // 2):.1f}, running mean {baseline:.1f}")

fig, ax = plt.subplots(figsize=(11, 4))
hours = np.arange(n - h)
ax.plot(hours, result.returns[: n - h], color="black", lw=1, label="realised discounted return")
ax.plot(hours, result.predictions[: n - h], color="tab:blue", lw=1, alpha=0.8, label="Stream TD(λ) prediction")
ax.plot(hours, running_mean[: n - h], color="tab:gray", lw=1, ls="--", label="running mean / (1-γ)")
ax.set_xlabel("hour of the year (Greensboro, NC, TMY3)")
ax.set_ylabel(f"discounted future temperature (γ = {args.gamma})")
ax.legend(loc="lower center")
fig.tight_layout()
fig.savefig(args.out, dpi=110)
print(f"wrote {args.out}")
