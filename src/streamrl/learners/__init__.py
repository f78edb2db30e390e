"""A learner is a network with its step rule: what an algorithm evaluates and updates. This is
where the backend is chosen (the fused kernels for the paper's networks, torch for the rest), so
algorithms never see it."""

from streamrl.learners.learner import Learner, make_learner

__all__ = ["Learner", "make_learner"]
