"""Environments: the paper's domain pipelines and the learning-side stages."""

from streamrl.envs.make import DOMAINS, MissingDependencyError, MuJoCoWarning, domain_of, make_env
from streamrl.envs.normalization import ObservationNormalizer, RewardScaler, RunningMeanStd, TimeFeature
from streamrl.envs.preprocessing import PreprocessingConfig, Preprocessor
from streamrl.envs.wrappers import AddTimeInfo, NormalizeObservation, ObservationTraces, ScaleReward

__all__ = ["make_env", "domain_of", "DOMAINS", "MissingDependencyError", "MuJoCoWarning", "RunningMeanStd",
           "ObservationNormalizer", "RewardScaler", "TimeFeature", "PreprocessingConfig", "Preprocessor",
           "NormalizeObservation", "ScaleReward", "AddTimeInfo", "ObservationTraces"]
