"""The monitoring items are named in three places that must agree: the configuration's
``Item`` type, the Chinese names shown to users, and the database's CHECK (a migration, so
it stays literal). An item added to one and not the others would load and then fail to
store, or be stored and then shown by its English key."""

from __future__ import annotations

import re
from typing import get_args

from riskmap.geo.worksafety.config import KIND_ITEMS, Item
from riskmap.geo.worksafety.vocabulary import ITEM_ZH


def _db_items(conn) -> set[str]:
    (definition,) = conn.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'ws_point'::regclass AND contype = 'c' "
        "AND pg_get_constraintdef(oid) LIKE '%item%'"
    ).fetchone()
    return set(re.findall(r"'([a-z_]+)'::text", definition))


def test_config_names_and_database_list_the_same_items(conn):
    config = set(get_args(Item))
    assert len(config) == 15
    assert set(ITEM_ZH) == config
    assert _db_items(conn) == config


def test_every_item_belongs_to_a_kind_of_site_and_kinds_use_known_items():
    used = {item for items in KIND_ITEMS.values() for item in items}
    assert used == set(get_args(Item))
