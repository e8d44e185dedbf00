"""A generator of realistic flagged-account batches with ground truth (`manage.py simulate`).

`simulate(build_config(...), out=..., truth=...)` writes a batch in the
ingest format and a truth file mapping every account to its operator. See
`population.py` for the cast and `operators/` for each behaviour.
"""

from __future__ import annotations

from ingest.simulate.batch import SimulationResult, simulate
from ingest.simulate.config import MIXES, build_config
from ingest.simulate.writer import default_truth_path

__all__ = ["MIXES", "SimulationResult", "build_config", "default_truth_path", "simulate"]
