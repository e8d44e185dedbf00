"""`config.db.update_changed`: stores the given fields, and leaves rows that already hold them untouched."""

from __future__ import annotations

import pytest
from django.db import connection

from config.db import update_changed
from investigations.models import CaseMembership
from tests.investigations.factories import CaseMembershipFactory

pytestmark = pytest.mark.django_db


def _row_version(pk: int) -> str:
    """PostgreSQL's ctid: every write of a row, even one that changes nothing, stores a new version elsewhere."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ctid::text FROM {CaseMembership._meta.db_table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_changed_rows_are_written_and_equal_ones_are_not():
    same, changed = CaseMembershipFactory.create_batch(2, evidence=[{"kind": "payment", "text": "shares pf_1"}])
    same.refresh_from_db()
    before = _row_version(same.pk), _row_version(changed.pk)
    changed.evidence = [{"kind": "payment", "text": "shares pf_1 with 19 accounts"}]
    changed.link_strength = 0.75

    update_changed(CaseMembership, ("evidence", "link_strength"), [same, changed])

    changed.refresh_from_db()
    assert changed.evidence == [{"kind": "payment", "text": "shares pf_1 with 19 accounts"}]
    assert changed.link_strength == 0.75
    assert _row_version(changed.pk) != before[1]
    assert _row_version(same.pk) == before[0]


def test_nothing_to_write_is_a_no_op():
    update_changed(CaseMembership, ("evidence",), [])
