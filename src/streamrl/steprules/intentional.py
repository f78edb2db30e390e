"""Intentional updates (Sharifnassab, Elsayed, De Asis, Mahmood & Sutton 2026, "Intentional Updates
for Streaming Reinforcement Learning"; docs/method.md, "Intentional updates").

The step size is chosen so that the output moves by an intended amount: in value mode by ``eta``
times the (clipped) TD error, in policy mode log pi(A|S) by about ``eta`` times the TD error over
its running mean magnitude. Per update, with ``g`` the gradient of the output, ``z`` the trace and
all vector arithmetic elementwise:

    t <- t + 1
    nu <- beta2 nu + (1 - beta2) g^2;  d = sqrt(nu / (1 - beta2^t)) + eps        (RMSProp metric D = 1/d)
    n = sum(g^2 / d)                                                             |g|^2 in the metric
    z <- gamma lambda z + g;  q = sum(z^2 / d)                                   |z|^2 in the metric
    sigma <- sigma + (1 - gamma lambda)(n - sigma);  sigma_hat = sigma / (1 - (gamma lambda)^t)
    alpha = eta / max(sqrt(sigma_hat q), 1e-8)
    m_c <- beta_c m_c + (1 - beta_c) delta^2  (m_c starts at 1);  cap = C sqrt(m_c / (1 - beta_c^t))
    delta~ = sign(delta) min(|delta|, cap)
    policy mode:  m_a <- beta_a m_a + (1 - beta_a)|delta~|;  delta~ <- delta~ / max(m_a / (1 - beta_a^t), 1e-12)
    w <- w + alpha delta~ (z / d)
    z <- 0 if the algorithm clears the trace                                      (after the step)

With lambda = 0 and a linear output this moves the output at the current state by exactly
``eta delta~`` (normalized LMS in the metric D).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from streamrl.networks.base import Parameters
from streamrl.steprules.base import PerRole, StepRule, UpdateInfo, checked_arrays

FAST = {"reassoc", "contract", "nsz"}
BLOCK = 2048  # values summed in the arrays' precision before the float64 total


@njit(cache=True, fastmath=FAST, error_model="numpy", inline="always")
def _block(g, nu, z, direction, beta, rest, decay, inv_correction, eps):
    """(I2)-(I4) and the direction on one block; its sums in the arrays' precision."""
    one = z.dtype.type(1.0)
    g_norm, z_norm, alignment = z.dtype.type(0.0), z.dtype.type(0.0), z.dtype.type(0.0)
    for i in range(len(z)):
        gi = g[i]
        v = beta * nu[i] + rest * gi * gi
        nu[i] = v
        inv_d = one / (np.sqrt(v * inv_correction) + eps)  # (one division a value: they bound the pass)
        zi = decay * z[i] + gi
        z[i] = zi
        step = zi * inv_d
        direction[i] = step
        g_norm += gi * gi * inv_d
        z_norm += zi * step
        alignment += gi * step
    return g_norm, z_norm, alignment


@njit(cache=True, fastmath=FAST, error_model="numpy")
def intentional_pass(g, nu, z, direction, t, beta2, eps, decay):
    """One pass over the parameters: nu, d = sqrt(nu / (1 - beta2^t)) + eps, z and the direction
    z / d in place, in the arrays' precision; returns (sum g^2 / d, sum z^2 / d, sum g z / d), each
    block of values summed in that precision and the blocks in float64 (a float64 sum of every
    value kept the loop from vectorizing: 2.7x slower for MinAtar's 132k weights). NumPy's error
    model: no zero checks on the divisions (d >= eps > 0)."""
    real = z.dtype.type
    beta, rest, decay_ = real(beta2), real(1.0 - beta2), real(decay)
    inv_correction, eps_ = real(1.0 / (1.0 - beta2**t)), real(eps)
    g_norm, z_norm, alignment = 0.0, 0.0, 0.0
    for start in range(0, len(z), BLOCK):
        end = min(start + BLOCK, len(z))
        a, b, c = _block(g[start:end], nu[start:end], z[start:end], direction[start:end], beta, rest, decay_,
                         inv_correction, eps_)
        g_norm += a
        z_norm += b
        alignment += c
    return g_norm, z_norm, alignment


class Intentional(StepRule):
    """Intentional updates: ``eta`` the intended change (value networks 0.5, policies 0.05), an
    RMSProp metric (``beta2``, ``eps``), TD errors clipped at ``clip`` times their running RMS
    (``clip_beta``), and in policy mode (``normalize``: policies only, by default) the TD error
    divided by its running mean magnitude (``normalize_beta``)."""

    name = "intentional"
    OPTIONS = {"eta": PerRole(value=0.5, policy=0.05), "beta2": 0.999, "eps": 1e-8, "clip": 20.0,
               "clip_beta": 0.9998, "normalize": PerRole(value=False, policy=True), "normalize_beta": 0.9998}
    OPTION_HELP = {"eta": "intended change of the output, as a fraction of the clipped TD error",
                   "beta2": "decay of the RMSProp average of squared gradients (the metric)",
                   "eps": "added to the metric's square root",
                   "clip": "TD errors are clipped at this many times their RMS",
                   "clip_beta": "decay of the TD errors' running mean square (the clip's)",
                   "normalize": "divide the TD error by its running mean magnitude (policy mode)",
                   "normalize_beta": "decay of that running mean magnitude"}

    def __init__(self, parameters: Parameters, gamma: float, lamda: float, eta: float = 0.5, beta2: float = 0.999,
                 eps: float = 1e-8, clip: float = 20.0, clip_beta: float = 0.9998, normalize: bool = False,
                 normalize_beta: float = 0.9998) -> None:
        super().__init__(parameters, gamma, lamda)
        for option, value in (("eta", eta), ("eps", eps), ("clip", clip)):
            if not value > 0:
                raise ValueError(f"{option} must be positive, got {value}")
        if not self.decay < 1:
            raise ValueError(f"intentional updates average |g|^2 at the rate 1 - gamma lambda, which must be "
                             f"positive: gamma lambda is {self.decay}")
        self.eta, self.beta2, self.eps, self.clip, self.clip_beta = eta, beta2, eps, clip, clip_beta
        self.normalize, self.normalize_beta = bool(normalize), normalize_beta
        n, dtype = self.n_parameters, self.dtype
        self.g, self.nu, self.z, self.direction = (np.zeros(n, dtype=dtype) for _ in range(4))
        self.t = 0  # updates so far
        self.cleared = False  # z is to be read as 0: the next pass starts it over (a 0 decay), saving a pass
        self.sigma = 0.0  # running average of |g|^2 in the metric (bias-corrected by t)
        self.clip_average, self.clip_t = 1.0, 0  # running mean of delta^2, starting at 1 as released
        self.cap = math.inf  # the last update's clip
        self.signal, self.norms = 0.0, (0.0, 0.0)  # the last update's delta~ and |g|^2, |z|^2 in the metric
        self.delta_average, self.delta_t = 0.0, 0  # running mean of |clipped delta| (policy mode)

    def clipped_delta(self, delta: float) -> tuple[float, bool]:
        """delta clipped at ``clip`` times the running RMS of the TD errors, this one included (the
        average starts at 1, as released, and is bias-corrected as if it started at 0: no clipping
        to speak of in the first thousands of steps)."""
        self.clip_t += 1
        self.clip_average = self.clip_beta * self.clip_average + (1.0 - self.clip_beta) * delta * delta
        self.cap = self.clip * math.sqrt(self.clip_average / (1.0 - self.clip_beta**self.clip_t))
        return (math.copysign(self.cap, delta), True) if abs(delta) > self.cap else (delta, False)

    def normalized_delta(self, delta: float) -> float:
        """Policy mode: delta over the running mean of |delta| (bias-corrected)."""
        self.delta_t += 1
        self.delta_average = self.normalize_beta * self.delta_average + (1.0 - self.normalize_beta) * abs(delta)
        return delta / max(self.delta_average / (1.0 - self.normalize_beta**self.delta_t), 1e-12)

    def update(self, grad_out: np.ndarray | None, delta: float, reset: bool) -> UpdateInfo:
        self.parameters.accumulate(grad_out, 0.0, self.g)  # (a trace that does not decay: the gradient)
        self.t += 1
        g_norm, z_norm, alignment = intentional_pass(self.g, self.nu, self.z, self.direction, self.t, self.beta2,
                                                     self.eps, 0.0 if self.cleared else self.decay)
        self.cleared = False
        self.sigma += (1.0 - self.decay) * (g_norm - self.sigma)
        sigma_hat = self.sigma / (1.0 - self.decay**self.t)
        step = self.eta / max(math.sqrt(sigma_hat * z_norm), 1e-8)
        signal, clipped = self.clipped_delta(delta)
        if self.normalize:
            signal = self.normalized_delta(signal)
        self.cleared = reset  # (the step moves along z / d: z can go now)
        self.parameters.step(step * signal, self.direction, False)
        self.signal, self.norms = signal, (g_norm, z_norm)  # (for diagnostics and checks)
        # the output's first-order change, alpha g . z / d per unit of signal, against the intended eta
        return UpdateInfo(step, clipped, step * alignment / self.eta)

    def clear_traces(self) -> None:
        self.cleared = True

    def traces(self) -> np.ndarray:
        if self.cleared:
            self.z[:] = 0.0
        return self.z

    def state_dict(self) -> dict[str, np.ndarray]:
        scalars = [self.t, self.sigma, self.clip_average, self.clip_t, self.delta_average, self.delta_t]
        return {"z": self.traces().copy(), "nu": self.nu.copy(), "scalars": np.array(scalars, dtype=np.float64)}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        arrays = checked_arrays(state, {"z": self.z, "nu": self.nu, "scalars": np.zeros(6)})
        t, sigma, clip_average, clip_t, delta_average, delta_t = arrays["scalars"].tolist()
        if not all(float(c).is_integer() and c >= 0 for c in (t, clip_t, delta_t)) or not clip_average > 0:
            raise ValueError("the saved intentional step-rule state is damaged (its counters are not counts)")
        self.z[:], self.nu[:], self.cleared = arrays["z"], arrays["nu"], False
        self.t, self.clip_t, self.delta_t = int(t), int(clip_t), int(delta_t)
        self.sigma, self.clip_average, self.delta_average = sigma, clip_average, delta_average
