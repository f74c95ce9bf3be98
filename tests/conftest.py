"""Shared fixtures: the real data folder (skipped when absent), small demo datasets, a quickly trained model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# one thread per pytest-xdist worker (make test runs -n 2 on 2 cores); two when run alone
torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else max(1, min(2, os.cpu_count() or 1)))

#: ../shared/data beside the repository (read only); CI has it, other machines may not.
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ../shared/data; the test is skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo_small():
    """600 synthetic demo sequences (101 nt, 5 labels) split 70/10/20."""
    from rnalabel.data.synthetic import make_demo_dataset

    return make_demo_dataset(600, seed=3)


@pytest.fixture(scope="session")
def trained_tiny(demo_small):
    """A small Multi-resBind trained for two epochs on ``demo_small`` (seconds on a CPU)."""
    from tests.helpers import train_tiny

    return train_tiny(demo_small)
