"""The one masking policy: secrets are masked where they stand as values, and a secret known
by value is masked anywhere unless it is an ordinary word that prose holds on its own."""

from __future__ import annotations

import json
import secrets

import pytest

from syncwizard.masking import (
    MASK,
    is_ordinary,
    is_secret_key,
    mask_data,
    mask_strings,
    mask_text,
)

ISSUE_LINE = "recover refused: wrong repository admin credentials for user admin"


# --- a secret that is an ordinary word --------------------------------------------------------


def test_an_ordinary_word_secret_leaves_prose_as_written() -> None:
    assert mask_text(ISSUE_LINE, ["admin"]) == ISSUE_LINE
    assert mask_text("Admin user ADMIN logged in", ["Admin", "ADMIN"]) == (
        "Admin user ADMIN logged in"
    )


def test_an_ordinary_word_secret_is_masked_where_it_stands_as_a_value() -> None:
    assert mask_text("-Drecover=admin:admin", ["admin"]) == f"-Drecover=admin:{MASK}"
    assert mask_text("password=admin", ["admin"]) == f"password={MASK}"
    assert mask_text("http://admin:admin@mq:8161/api", ["admin"]) == (
        f"http://admin:{MASK}@mq:8161/api"
    )
    assert mask_text("sql.db.password: admin", ["admin"]) == f"sql.db.password: {MASK}"


@pytest.mark.parametrize("word", ["admin", "Admin", "ADMIN", "alfresco", "sync", "1234", "pw"])
def test_words_numbers_and_short_strings_are_ordinary(word: str) -> None:
    assert is_ordinary(word)


@pytest.mark.parametrize(
    "value", ["aDmIn", "admin1", "s3cr3t!", "pa55word", "tok-98765", "correcthorsebatterystaple"]
)
def test_mixed_case_digits_signs_and_long_runs_of_letters_are_not_ordinary(value: str) -> None:
    assert not is_ordinary(value)
    assert (
        mask_text(f"it said {value} twice: {value}.", [value]) == f"it said {MASK} twice: {MASK}."
    )


# --- a secret known by value that is not a word ------------------------------------------------


def test_a_random_token_is_masked_wherever_it_appears() -> None:
    token = secrets.token_urlsafe(12)
    text = (
        f"prose {token} here; glued{token}glued; url https://u:{token}@h/; "
        f'json {{"note": "{token}"}}; arg --opt={token}'
    )
    masked = mask_text(text, [token])
    assert token not in masked
    assert masked.count(MASK) == 5


def test_a_longer_secret_holding_a_shorter_one_is_masked_whole() -> None:
    assert mask_text("x Secret99Longer y", ["Secret99", "Secret99Longer"]) == f"x {MASK} y"


# --- value positions, known or not ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("-Drecover=admin:Adm1nPw", f"-Drecover=admin:{MASK}"),
        ("JAVA_OPTS='-Drecover=admin:a:b' start", f"JAVA_OPTS='-Drecover=admin:{MASK}' start"),
        ("-Drecover=malformed", f"-Drecover={MASK}"),
        ("postgresql://sync:pw@db:5432/sync", f"postgresql://sync:{MASK}@db:5432/sync"),
        ("stomp+ssl://admin:pw@mq:61614", f"stomp+ssl://admin:{MASK}@mq:61614"),
        ("Authorization: Basic YWRtaW46YWRtaW4=", f"Authorization: Basic {MASK}"),
        ("authorization: Bearer eyJhbGciOi.x.y", f"authorization: Bearer {MASK}"),
        ("Proxy-Authorization: Basic dTpw", f"Proxy-Authorization: Basic {MASK}"),
        ('Authorization: Digest username="a", response="9f"', f"Authorization: Digest {MASK}"),
        ('{"Authorization": "Basic dTpw"}', f'{{"Authorization": "Basic {MASK}"}}'),
        ("host=db password=pw user=sync", f"host=db password={MASK} user=sync"),
        ("PGPASSWORD=pw pg_dump", f"PGPASSWORD={MASK} pg_dump"),
        ("DSN=x;UID=sa;PWD=pw;", f"DSN=x;UID=sa;PWD={MASK};"),
        ("client_secret = 'a b c'", f"client_secret = '{MASK}'"),
        ('api_token="a b c"', f'api_token="{MASK}"'),
        ('{"password": "pw", "user": "sync"}', f'{{"password": "{MASK}", "user": "sync"}}'),
        ("sync.token: abc123", f"sync.token: {MASK}"),
        ("messaging.password: pw, user: x", f"messaging.password: {MASK}, user: x"),
    ],
)
def test_secrets_standing_as_values_are_masked_unknown_or_known(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "no broker password: the Jolokia user 'admin' needs one to read the queue",
        "password_env=SW_DB_PASSWORD password_file=/run/secrets/db passfile=/etc/pgpass",
        "the token: a short string that is typed on the gate",
        "http://mq:8161/api/jolokia and http://user@mq/",
        "secrets: none here",
    ],
)
def test_prose_names_of_variables_and_files_and_urls_without_passwords_stay(text: str) -> None:
    assert mask_text(text) == text


def test_masking_twice_changes_nothing_more() -> None:
    text = "-Drecover=admin:pw http://u:pw@h password=pw Authorization: Basic x pw-1234"
    once = mask_text(text, ["pw-1234"])
    assert mask_text(once, ["pw-1234"]) == once


def test_a_long_line_is_masked_in_linear_time() -> None:
    blob = "a.b-c_" * 50_000  # one long token full of dots and dashes
    assert mask_text(f"{blob} password=x", ["zz-9999"]).endswith(f"password={MASK}")


# --- structured data --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["password", "db_pass", "PGPASSWORD", "pwd", "client_secret", "api_token", "apiKey"]
)
def test_keys_that_name_a_secret(key: str) -> None:
    assert is_secret_key(key)


@pytest.mark.parametrize(
    "key", ["password_env", "password_file", "passfile", "secret_name", "user", "passed"]
)
def test_keys_that_name_where_a_secret_is_or_nothing_secret(key: str) -> None:
    assert not is_secret_key(key)


def test_values_of_secret_named_keys_are_masked_and_found() -> None:
    found: set[str] = set()
    data = {
        "user": "sync",
        "password": "S3cr3t",
        "password_env": "SW_DB_PASSWORD",
        "nested": [{"api_token": "tok-1"}, {"flag": True, "token": ""}],
    }
    assert mask_data(data, found) == {
        "user": "sync",
        "password": MASK,
        "password_env": "SW_DB_PASSWORD",
        "nested": [{"api_token": MASK}, {"flag": True, "token": ""}],
    }
    assert found == {"S3cr3t", "tok-1"}


def test_every_string_of_nested_data_is_masked_and_keys_stay() -> None:
    data = {"cmd": ["-Drecover=admin:pw"], "note": {"S3cr3t": "saw S3cr3t"}, "n": 3}
    assert mask_strings(data, ["S3cr3t"]) == {
        "cmd": [f"-Drecover=admin:{MASK}"],
        "note": {"S3cr3t": f"saw {MASK}"},
        "n": 3,
    }
    assert json.loads(json.dumps(mask_strings(data, ["S3cr3t"])))  # still JSON
