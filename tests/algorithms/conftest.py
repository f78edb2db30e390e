import numpy as np
import pytest


@pytest.fixture
def observations():
    rng = np.random.default_rng(123)
    return [rng.normal(size=20) for _ in range(200)]
