"""Detection on a world it was not tuned on: `bench/scenarios` (an independent generator) through ingest and detect.

Small worlds (a few thousand events) so the test stays fast; the targets are the
ones detection is judged on: B-cubed F1 >= 0.95, no legitimate account in an
attacker case, ROC AUC >= 0.95 of case scores, attacker vs legitimate operators.
"""

from __future__ import annotations

import pytest
from django.test import TestCase

from bench.scenarios.world import World, write
from ingest import services
from ingest.models import Batch
from investigations.detection.evaluation import evaluate
from investigations.detection.services import detection_run

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("mix", "seed"), [("baseline", 11), ("prepaid-proxy", 12)])
def test_unseen_generator_meets_the_targets(tmp_path, mix, seed):
    world = World(accounts=240, days=3, seed=seed, mix=mix)
    batch_path = tmp_path / "world.ndjson"
    write(world, batch_path, tmp_path / "world.truth.json")
    with TestCase.captureOnCommitCallbacks(execute=True):
        batch = services.batch_create(source=Batch.Source.CLI, actor=None, path=batch_path, chunk_lines=5000)
    batch.refresh_from_db()
    assert batch.status == Batch.Status.DONE, batch.error
    assert batch.rejected == 0
    detection_run(full=True)

    result = evaluate(truth=world.truth())
    assert result["bcubed_f1"] >= 0.95, result
    assert result["legitimate_in_attacker_cases"] == 0, result
    assert result["auc"] >= 0.95, result
