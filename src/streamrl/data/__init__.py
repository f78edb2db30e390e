"""Real data for prediction demos, and Stream TD(lambda) on a stream of rows."""

from streamrl.data.prediction import PredictionResult, discounted_returns, predict_rows
from streamrl.data.weather import TimeSeries, load_weather

__all__ = ["TimeSeries", "load_weather", "PredictionResult", "discounted_returns", "predict_rows"]
