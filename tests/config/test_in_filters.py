"""`config.db.in_filters`: raw-SQL conditions that together select exactly the given values."""

from __future__ import annotations

import pytest
from django.db import connection

from config.db import IN_CHUNK, in_filters

pytestmark = pytest.mark.django_db


def _selected(values: list[int]) -> list[int]:
    found: list[int] = []
    with connection.cursor() as cursor:
        for where in in_filters(values):
            cursor.execute(
                f"SELECT n FROM (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3) t WHERE n {where.sql}",
                where.params,
            )
            found += [row[0] for row in cursor.fetchall()]
    return sorted(found)


def test_the_conditions_select_the_values_and_nothing_else():
    assert _selected([3, 1, 99]) == [1, 3]
    assert _selected([]) == []


def test_many_values_take_one_array_on_postgresql_and_chunks_of_in_lists_elsewhere():
    filters = list(in_filters(range(IN_CHUNK + 1)))
    if connection.vendor == "postgresql":
        assert [f.sql for f in filters] == ["= ANY(%s)"] and len(filters[0].params[0]) == IN_CHUNK + 1
    else:
        assert [len(f.params) for f in filters] == [IN_CHUNK, 1]
