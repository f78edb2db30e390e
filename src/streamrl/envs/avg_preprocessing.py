"""AVG's learning-side stages (Vasan et al. 2024): observations normalized by Gymnasium's running
statistics, as the authors' NormalizeObservation wrapper does, no reward scaling, and in its place
the TD-error scaler with the return G it takes at each termination, saved with the statistics."""

from __future__ import annotations

import numpy as np

from streamrl.envs.normalization import ObservationNormalizer, TDErrorScaler
from streamrl.envs.preprocessing import PreprocessingConfig, Preprocessor


class AVGPreprocessor(Preprocessor):
    """A Preprocessor with pooled (Gymnasium's) observation statistics, ``td_scaler`` and the
    undiscounted return ``episode_return`` of the rewards since the last termination."""

    def __init__(self, obs_shape: tuple[int, ...], gamma: float, config: PreprocessingConfig) -> None:
        super().__init__(obs_shape, gamma, config)
        self.obs_norm = ObservationNormalizer(self.obs_shape, pooled=True) if config.normalize_observation else None
        self.td_scaler, self.episode_return = TDErrorScaler(), 0.0

    def scale_step(self, reward: float, gamma: float, terminal: bool) -> float:
        """Takes in one step's (entropy-augmented) reward and discount (0 at a ``terminal`` step,
        where the return is taken in and restarts); returns the TD error's scale for the step."""
        self.episode_return += reward
        self.td_scaler.update(reward, 0.0 if terminal else gamma, self.episode_return if terminal else None)
        if terminal:
            self.episode_return = 0.0
        return self.td_scaler.sigma

    def state_dict(self) -> dict[str, np.ndarray]:
        scaler = {f"td.{k}": v for k, v in self.td_scaler.state_dict().items()}
        return {**super().state_dict(), **scaler, "td.episode_return": np.array(self.episode_return)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        super().load_state_dict(state)
        self.td_scaler.load_state_dict({k[len("td."):]: v for k, v in state.items() if k.startswith("td.")})
        self.episode_return = float(state["td.episode_return"])
