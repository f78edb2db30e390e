"""A real multivariate time series that ships inside a PyPI package (nothing is downloaded).

pvlib carries the typical meteorological year (TMY3) of Greensboro, North Carolina: 8,760 hourly
measurements (each calendar month taken whole from one real year of the station's record). Seven
of its columns stand in for the seven sensor channels of the paper's oil-temperature task, with
the air temperature as the quantity to predict.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

import numpy as np

from streamrl.core.extras import require

COLUMNS = ("Dry-bulb (C)", "Dew-point (C)", "RHum (%)", "Pressure (mbar)", "Wspd (m/s)", "GHI (W/m^2)",
           "DHI (W/m^2)")
TARGET = "Dry-bulb (C)"


@dataclass(frozen=True)
class TimeSeries:
    name: str
    columns: tuple[str, ...]
    values: np.ndarray  # (time, column), float64
    timestamps: tuple[str, ...]

    def column(self, name: str) -> np.ndarray:
        return self.values[:, self.columns.index(name)]


def load_weather() -> TimeSeries:
    """Hourly weather at Greensboro, NC (TMY3 file 723170TYA from pvlib): 8,760 rows x 7 columns."""
    path = resources.files(require("pvlib", "data", "the weather data (it ships with pvlib)")) / "data" / "723170TYA.CSV"
    with path.open(newline="") as f:
        f.readline()  # station metadata
        rows = list(csv.DictReader(f))
    values = np.array([[float(row[c]) for c in COLUMNS] for row in rows], dtype=np.float64)
    stamps = tuple(f"{row['Date (MM/DD/YYYY)']} {row['Time (HH:MM)']}" for row in rows)
    return TimeSeries("greensboro-tmy3", COLUMNS, values, stamps)
