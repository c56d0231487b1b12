"""What a database has that a pg_dump archive (made without --create) does not carry, and
how a restore sets it again on the restored database inside the swap's transaction.

pg_dump leaves out the database's own settings (`ALTER DATABASE ... SET`, and
`ALTER ROLE ... IN DATABASE ... SET`, which belong to the database's oid), its connection
limit, its privileges (`GRANT CONNECT ON DATABASE ...`), its owner and its comment. A
database restored into a new one would silently lose them; the swap reads them from the
database it renames aside and sets them on the restored one in the same transaction, so
the live name never holds the restored data without them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import psycopg
from psycopg import sql

# Settings whose value is a list of quoted items (pg_dump's variable_is_guc_list_quote):
# each item is set as its own literal, else `"$user", public` became one odd schema name.
LIST_QUOTE = frozenset(
    {
        "local_preload_libraries",
        "search_path",
        "session_preload_libraries",
        "shared_preload_libraries",
        "temp_tablespaces",
        "unix_socket_directories",
    }
)
PRIVILEGES = ("CONNECT", "CREATE", "TEMPORARY")  # what a database's ACL can hold


@dataclass(frozen=True)
class Grant:
    grantee: str  # "" is PUBLIC
    privilege: str  # one of PRIVILEGES
    grantable: bool


@dataclass(frozen=True)
class DatabaseSettings:
    """One database's own facts a dump does not carry (JSON-able: journaled for the
    drop-first path, whose live database is gone by the swap)."""

    owner: str
    connlimit: int = -1
    settings: list[str] = field(default_factory=list)  # "key=value", as pg_db_role_setting
    role_settings: list[tuple[str, str]] = field(default_factory=list)  # (role, "key=value")
    grants: list[Grant] | None = None  # None: the default privileges (datacl is NULL)
    comment: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DatabaseSettings:
        grants = data.get("grants")
        return cls(
            owner=str(data["owner"]),
            connlimit=int(data.get("connlimit", -1)),
            settings=list(data.get("settings") or []),
            role_settings=[(str(r), str(s)) for r, s in data.get("role_settings") or []],
            grants=None if grants is None else [Grant(**g) for g in grants],
            comment=data.get("comment"),
        )


_READ = """
SELECT pg_get_userbyid(d.datdba), d.datconnlimit,
       coalesce((SELECT setconfig FROM pg_db_role_setting
                 WHERE setdatabase = d.oid AND setrole = 0), '{}'),
       coalesce((SELECT json_agg(json_build_array(pg_get_userbyid(s.setrole), c)
                                 ORDER BY pg_get_userbyid(s.setrole), c)
                 FROM pg_db_role_setting s, unnest(s.setconfig) c
                 WHERE s.setdatabase = d.oid AND s.setrole <> 0), '[]'),
       CASE WHEN d.datacl IS NOT NULL THEN
         (SELECT coalesce(json_agg(json_build_array(
                    CASE WHEN a.grantee = 0 THEN '' ELSE pg_get_userbyid(a.grantee) END,
                    a.privilege_type, a.is_grantable) ORDER BY 1), '[]')
          FROM aclexplode(d.datacl) a) END,
       shobj_description(d.oid, 'pg_database')
FROM pg_database d WHERE d.datname = %s
"""


async def read_settings(conn: psycopg.AsyncConnection[Any], name: str) -> DatabaseSettings | None:
    """Database `name`'s settings, connection limit, privileges, owner and comment."""
    row = await (await conn.execute(_READ, (name,))).fetchone()
    if row is None:
        return None
    owner, limit, settings, role_settings, acl, comment = row
    return DatabaseSettings(
        owner=owner,
        connlimit=int(limit),
        settings=list(settings),
        role_settings=[(str(role), str(item)) for role, item in role_settings],
        grants=None if acl is None else [Grant(g, p, bool(w)) for g, p, w in acl],
        comment=comment,
    )


def split_list(value: str) -> list[str]:
    """`"$user", public` -> ['$user', 'public'] (as the server stores a list setting)."""
    items: list[str] = []
    i, n = 0, len(value)
    while i < n:
        while i < n and value[i] in " ,":
            i += 1
        if i >= n:
            break
        if value[i] == '"':
            i += 1
            item = []
            while i < n:
                if value[i] == '"':
                    if i + 1 < n and value[i + 1] == '"':
                        item.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                item.append(value[i])
                i += 1
            items.append("".join(item))
        else:
            end = value.find(",", i)
            end = n if end == -1 else end
            items.append(value[i:end].strip())
            i = end
    return items


def _set_value(item: str) -> sql.Composable:
    key, _, value = item.partition("=")
    values: sql.Composable
    if key.lower() in LIST_QUOTE:
        values = sql.SQL(", ").join(sql.Literal(v) for v in split_list(value))
    else:
        values = sql.Literal(value)
    return sql.SQL("SET {} = {}").format(sql.Identifier(key), values)


def _grantee(name: str) -> sql.Composable:
    return sql.SQL("PUBLIC") if not name else sql.Identifier(name)


def _default_grants(owner: str) -> set[Grant]:
    """What acldefault('d', owner) holds: PUBLIC may connect and make temporary tables,
    the owner may do everything (and grant it)."""
    return {Grant("", "CONNECT", False), Grant("", "TEMPORARY", False)} | {
        Grant(owner, p, False) for p in PRIVILEGES
    }


def statements(want: DatabaseSettings, name: str, current_owner: str) -> list[sql.Composed]:
    """SQL that gives database `name` (new: no settings, default privileges, owned by
    `current_owner`) what `want` describes."""
    db = sql.Identifier(name)
    found: list[sql.Composed] = []
    if want.owner != current_owner:
        found.append(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(db, sql.Identifier(want.owner))
        )
    for item in want.settings:
        found.append(sql.SQL("ALTER DATABASE {} {}").format(db, _set_value(item)))
    for role, item in want.role_settings:
        found.append(
            sql.SQL("ALTER ROLE {} IN DATABASE {} {}").format(
                sql.Identifier(role), db, _set_value(item)
            )
        )
    if want.connlimit != -1:
        found.append(
            sql.SQL("ALTER DATABASE {} CONNECTION LIMIT {}").format(db, sql.Literal(want.connlimit))
        )
    if want.grants is not None:
        default = _default_grants(want.owner)
        wanted = {g for g in want.grants if g.privilege in PRIVILEGES}
        # The owner's grant option is implicit in acldefault; aclexplode shows it as false.
        have_keys = {(g.grantee, g.privilege) for g in default}
        want_keys = {(g.grantee, g.privilege) for g in wanted}
        for grantee, privilege in sorted(have_keys - want_keys):
            found.append(
                sql.SQL("REVOKE {} ON DATABASE {} FROM {}").format(
                    sql.SQL(privilege), db, _grantee(grantee)
                )
            )
        for grant in sorted(wanted, key=lambda g: (g.grantee, g.privilege)):
            if (grant.grantee, grant.privilege) in have_keys and not grant.grantable:
                continue
            option = sql.SQL(" WITH GRANT OPTION") if grant.grantable else sql.SQL("")
            found.append(
                sql.SQL("GRANT {} ON DATABASE {} TO {}{}").format(
                    sql.SQL(grant.privilege), db, _grantee(grant.grantee), option
                )
            )
    if want.comment is not None:
        found.append(sql.SQL("COMMENT ON DATABASE {} IS {}").format(db, sql.Literal(want.comment)))
    return found


@dataclass(frozen=True)
class Applied:
    done: list[str]  # each statement that took effect, as SQL text
    failed: list[str]  # "<SQL>: <the server's reason>", for the admin to run as it says


async def apply(
    conn: psycopg.AsyncConnection[Any], want: DatabaseSettings, name: str, current_owner: str
) -> Applied:
    """Run `statements` on `conn`, which must be inside a transaction: each in its own
    savepoint, so one the connecting role may not run (another role's settings, an owner
    it is not a member of) is reported, not a reason to undo the swap around it."""
    done: list[str] = []
    failed: list[str] = []
    for statement in statements(want, name, current_owner):
        text = statement.as_string(conn)
        try:
            async with conn.transaction():
                await conn.execute(statement)
            done.append(text)
        except psycopg.Error as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            failed.append(f"{text}: {reason}")
    return Applied(done, failed)
