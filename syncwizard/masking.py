"""The one masking policy: what is a secret, and how it is masked wherever text is kept
or shown (journal, report, service command output).

    mask_text("jolokia at http://admin:pw@mq:8161", secrets=[...])  # -> admin:********@
    mask_data({"password": "x"}, found)    # values of secret-named keys; adds them to found
    mask_strings(entry, secrets)           # mask_text on every string of JSON-like data

A secret is masked where it stands as a VALUE:
- the password of a URL (`scheme://user:<pw>@`),
- an HTTP `Authorization` / `Proxy-Authorization` header's credentials,
- `key=value`, and `key: value` ending its line or list, whose key names a secret
  (password, passwd, pwd, secret, token; not `*_env`, `*_file`, which name where it is),
- the password of `-Drecover=<user>:<password>` (the user stays readable).
A secret known by value (the broker password, PGPASSWORD, ...) is also masked wherever
it appears, unless it is an ordinary word or number that prose holds on its own: with
the broker password `admin`, "wrong repository admin credentials for user admin" stays
as written, and only the value positions above are masked.

Clients import this module too, so it lives outside `runbook` (clients import no runbook).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "********"
MIN_BARE_LENGTH = 4  # a shorter secret is masked only where it stands as a value
LONGEST_WORD = 16  # a longer run of letters is not a word prose would hold

# For structured data (journal entries, profiles): `pass` alone too (db_pass), but not
# passfile or passed; `password_env` and `password_file` say where a secret is, not it.
_SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?(?![a-z])|pwd|secret|token|credential|api_?key|authorization", re.I
)
_NOT_A_SECRET_KEY = re.compile(r"(_env|_file|_path|_name|file)$", re.I)

# In text: a key (group 1) and its separator (2), then the value: "quoted" (3), 'quoted'
# (4) or bare (5). Keys start where a token starts (the look-behind), so a long token is
# read once, not from each of its dots and dashes.
_TEXT_SECRET_KEY = re.compile(r"password|passwd|pwd|secret|token", re.I)
_VALUE = r"(?:\"([^\"]*)\"|'([^']*)'|([^\s,;&|`\"'(){}\[\]]+))"
_INLINE_EQUALS = re.compile(rf"(?<![\w.-])([\w.-]+)([\"']?\s*=\s*){_VALUE}")
# `key: value` only where the value ends the line or a list item: "password: the Jolokia
# user needs one" is prose, "sql.db.password: admin" is a value.
_INLINE_COLON = re.compile(
    rf"(?m)(?<![\w.-])([\w.-]+)([\"']?[ \t]*:[ \t]*){_VALUE}(?=[ \t]*(?:$|[,;}}\])]))"
)
_RECOVER_OPTION = re.compile(r"(-Drecover=)(?:([^\s:`|\"']+):)?([^\s`|\"']+)")
_URL_PASSWORD = re.compile(r"(?<![\w+.-])([a-z][a-z0-9+.-]*://[^/\s:@]+:)([^@\s/]+)(@)", re.I)
_AUTHORIZATION = re.compile(
    r"(?im)(\b(?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?"
    r"(?:(?:basic|bearer|negotiate|ntlm|token)[ \t]+)?)"
    r"(?:(digest[ \t]+)[^\r\n]+|[^\s\"',;]+)"
)
_ORDINARY_WORD = re.compile(r"[A-Za-z][a-z]*|[A-Z]+")


def is_secret_key(key: str) -> bool:
    """A key whose value is a secret: password, db_pass, api_token, client_secret, ..."""
    return bool(_SECRET_KEY.search(key)) and not _NOT_A_SECRET_KEY.search(key)


def is_ordinary(value: str) -> bool:
    """A value that prose holds on its own: a short string, a number, or a word as prose
    writes it (admin, Admin, ADMIN). Such a secret is masked only where it stands as a
    value; masking it everywhere would garble every sentence that uses the word."""
    if len(value) < MIN_BARE_LENGTH or value.isdigit():
        return True
    return len(value) <= LONGEST_WORD and bool(_ORDINARY_WORD.fullmatch(value))


def _masked_value(match: re.Match[str]) -> str:
    """A secret-named key kept, its value masked (quotes kept, so JSON stays JSON)."""
    key = match.group(1)
    if not _TEXT_SECRET_KEY.search(key) or _NOT_A_SECRET_KEY.search(key):
        return match.group(0)
    head = key + match.group(2)
    if match.group(3) is not None:
        return f'{head}"{MASK}"'
    if match.group(4) is not None:
        return f"{head}'{MASK}'"
    return head + MASK


def _masked_recover(match: re.Match[str]) -> str:
    user = match.group(2)
    return f"{match.group(1)}{user}:{MASK}" if user else match.group(1) + MASK


def _masked_authorization(match: re.Match[str]) -> str:
    digest = match.group(2)
    return match.group(1) + (digest or "") + MASK


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every secret masked (see the module's docstring)."""
    bare = {s for s in secrets if s and not is_ordinary(s)}
    for secret in sorted(bare, key=len, reverse=True):  # a longer secret may hold a shorter
        text = text.replace(secret, MASK)
    text = _RECOVER_OPTION.sub(_masked_recover, text)
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + m.group(3), text)
    text = _AUTHORIZATION.sub(_masked_authorization, text)
    text = _INLINE_EQUALS.sub(_masked_value, text)
    return _INLINE_COLON.sub(_masked_value, text)


def mask_data(value: Any, found: set[str]) -> Any:
    """A copy of JSON-like `value` with the values of secret-named keys masked; the masked
    values are added to `found`, so they can be masked wherever else they appear."""
    if isinstance(value, Mapping):
        clean: dict[str, Any] = {}
        for key, item in value.items():
            plain = isinstance(item, str | int | float) and not isinstance(item, bool)
            if plain and item != "" and is_secret_key(str(key)):
                found.add(str(item))
                clean[key] = MASK
            else:
                clean[key] = mask_data(item, found)
        return clean
    if isinstance(value, list | tuple):
        return [mask_data(item, found) for item in value]
    return value


def mask_strings(value: Any, secrets: Iterable[str]) -> Any:
    """A copy of JSON-like `value` with `mask_text` applied to every string in it (keys
    stay as they are)."""
    secrets = tuple(secrets)
    if isinstance(value, str):
        return mask_text(value, secrets)
    if isinstance(value, Mapping):
        return {key: mask_strings(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_strings(item, secrets) for item in value]
    return value


def environment_secrets() -> list[str]:
    """Values of environment variables named like a secret (PGPASSWORD, *_PASSWORD, ...).
    Names of files or of other variables, numbers and yes/no flags are left out."""
    return [
        value
        for name, value in os.environ.items()
        if re.search(r"PASSWORD|PASSWD|SECRET|TOKEN", name, re.I)
        and not re.search(r"_(ENV|FILE|PATH|DIR)$", name, re.I)
        and not value.isdigit()
        and value.lower() not in ("true", "false", "yes", "no", "on", "off")
    ]


def run_secrets(broker_password: str | None) -> list[str]:
    """The secrets a run knows by value: the broker password and a PGPASSWORD, when given."""
    return [s for s in (broker_password, os.environ.get("PGPASSWORD")) if s]
