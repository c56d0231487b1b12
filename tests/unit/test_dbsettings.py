"""What the swap sets again on a restored database (clients/dbsettings.py), as SQL."""

from __future__ import annotations

import pytest

from syncwizard.clients.dbsettings import DatabaseSettings, Grant, split_list, statements


def sql_of(want: DatabaseSettings, name: str = "alfresco", owner: str = "alfresco") -> list[str]:
    return [s.as_string(None) for s in statements(want, name, owner)]


@pytest.mark.parametrize(
    ("stored", "items"),
    [
        ('"$user", public', ["$user", "public"]),
        ('public, "Odd Schema", "with ""quote"""', ["public", "Odd Schema", 'with "quote"']),
        ("", []),
    ],
)
def test_a_list_setting_is_split_as_the_server_stores_it(stored: str, items: list[str]) -> None:
    assert split_list(stored) == items


def test_a_database_with_nothing_of_its_own_needs_nothing() -> None:
    assert sql_of(DatabaseSettings(owner="alfresco")) == []


def test_settings_limit_owner_and_comment_become_sql() -> None:
    want = DatabaseSettings(
        owner="alfresco",
        connlimit=40,
        settings=["work_mem=8MB", 'search_path="$user", public'],
        role_settings=[("alfresco", "statement_timeout=5min")],
        comment="it's ours",
    )
    assert sql_of(want, owner="restorer") == [
        'ALTER DATABASE "alfresco" OWNER TO "alfresco"',
        """ALTER DATABASE "alfresco" SET "work_mem" = '8MB'""",
        """ALTER DATABASE "alfresco" SET "search_path" = '$user', 'public'""",
        """ALTER ROLE "alfresco" IN DATABASE "alfresco" SET "statement_timeout" = '5min'""",
        'ALTER DATABASE "alfresco" CONNECTION LIMIT 40',
        """COMMENT ON DATABASE "alfresco" IS 'it''s ours'""",
    ]


def test_privileges_are_set_as_the_difference_to_the_default() -> None:
    want = DatabaseSettings(
        owner="alfresco",
        grants=[
            Grant("", "TEMPORARY", False),
            Grant("alfresco", "CONNECT", False),
            Grant("alfresco", "CREATE", False),
            Grant("alfresco", "TEMPORARY", False),
            Grant("reader", "CONNECT", True),
        ],
    )
    assert sql_of(want) == [
        'REVOKE CONNECT ON DATABASE "alfresco" FROM PUBLIC',
        'GRANT CONNECT ON DATABASE "alfresco" TO "reader" WITH GRANT OPTION',
    ]


def test_the_settings_survive_the_journal() -> None:
    want = DatabaseSettings(
        owner="a", connlimit=3, settings=["x=1"], role_settings=[("r", "y=2")],
        grants=[Grant("r", "CONNECT", False)], comment=None,
    )  # fmt: skip
    assert DatabaseSettings.from_json(want.as_json()) == want
