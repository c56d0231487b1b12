"""Reading profiles: strict keys and types, clear errors, env overrides, masked secrets."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from syncwizard import config_file, paths
from syncwizard.cli import main
from syncwizard.config import broker_password, describe, load_settings
from syncwizard.config_file import TEMPLATE, init_config, write_profile
from syncwizard.errors import SyncWizardError

MINIMAL = """
default_profile = "prod"
[profiles.prod.health]
url = "https://sync:9090/alfresco/healthcheck"
[profiles.prod.broker]
jolokia_url = "http://mq:8161/api/jolokia"
[profiles.prod.repository_db]
conninfo = "host=db dbname=alfresco user=alfresco"
[profiles.prod.sync_db]
conninfo = "host=db dbname=syncservice user=sync"
"""
HEALTH_URL = 'url = "https://sync:9090/alfresco/healthcheck"'
JOLOKIA_URL = 'jolokia_url = "http://mq:8161/api/jolokia"'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def error_of(path: Path, profile: str | None = None, env: dict[str, str] | None = None) -> str:
    with pytest.raises(SyncWizardError) as caught:
        load_settings(path, profile, env or {})
    assert caught.value.system == "config"
    assert caught.value.hint, "every config error says what to do"
    return caught.value.message


def test_the_template_is_a_valid_config(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "config.toml"
    init_config(path)
    settings = load_settings(path, None, {})
    assert settings.profile.name == "prod"
    assert settings.profile.broker.password_env == "SYNCWIZARD_BROKER_PASSWORD"
    assert settings.profile.sync_service.start_with_recover is not None
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text() == TEMPLATE


def test_init_never_overwrites_an_existing_file(tmp_path: Path) -> None:
    path = write(tmp_path, "# mine\n")
    with pytest.raises(SyncWizardError, match="already exists"):
        init_config(path)
    assert path.read_text() == "# mine\n"


def test_init_never_overwrites_a_file_created_while_it_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.toml"
    real = paths.write_private

    def racing(target: Path, text: str) -> None:
        real(target, text)
        path.write_text("# theirs\n")  # another writer, between the check and the write

    monkeypatch.setattr(config_file, "write_private", racing)
    with pytest.raises(SyncWizardError, match="already exists"):
        init_config(path)
    assert path.read_text() == "# theirs\n"
    assert [child.name for child in tmp_path.iterdir()] == ["config.toml"]


def test_minimal_profile_gets_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, MINIMAL), None, {})
    assert settings.profile.health.timeout == 5.0
    assert settings.profile.broker.user == "admin"
    assert settings.ui.poll_interval == 1.0
    assert settings.profile.sync_service.start is None


def test_missing_file_says_where_it_looked_and_how_to_create_one(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(SyncWizardError) as caught:
        load_settings(path, None, {})
    assert str(path) in caught.value.message
    assert "config init" in caught.value.hint


def test_invalid_toml_names_line_and_column(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, 'default_profile = "prod"\n[profiles.prod.health\n'))
    assert "line 2" in message and "column" in message


def test_unknown_key_names_the_key_and_the_profile(tmp_path: Path) -> None:
    text = MINIMAL.replace('jolokia_url = "http', 'jolokia_ur1 = "x"\njolokia_url = "http')
    message = error_of(write(tmp_path, text))
    assert "profiles.prod.broker.jolokia_ur1" in message


def test_wrong_type_names_the_key_and_the_expected_type(tmp_path: Path) -> None:
    text = MINIMAL + "[profiles.prod.backup]\ndir = 42\n"
    message = error_of(write(tmp_path, text))
    assert "profiles.prod.backup.dir" in message and "string" in message


def test_a_missing_required_section_is_named(tmp_path: Path) -> None:
    text = MINIMAL.replace("[profiles.prod.sync_db]", "[profiles.prod.backup]").replace(
        'conninfo = "host=db dbname=syncservice user=sync"', ""
    )
    assert "sync_db" in error_of(write(tmp_path, text))


def test_unknown_profile_lists_the_known_ones(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, MINIMAL), "staging")
    assert "staging" in message


def test_profile_from_environment(tmp_path: Path) -> None:
    text = MINIMAL + MINIMAL.split("\n", 2)[2].replace("prod", "lab")
    settings = load_settings(write(tmp_path, text), None, {"SYNCWIZARD_PROFILE": "lab"})
    assert settings.profile.name == "lab"
    assert settings.profiles == ("prod", "lab")


def test_environment_overrides_one_key(tmp_path: Path) -> None:
    env = {
        "SYNCWIZARD_HEALTH__URL": "https://other:9090/alfresco/healthcheck",
        "SYNCWIZARD_HEALTH__TIMEOUT": "2.5",
        "SYNCWIZARD_HEALTH__OTHER_NODES": "https://n2:9090/a, https://n3:9090/a",
    }
    settings = load_settings(write(tmp_path, MINIMAL), None, env)
    assert settings.profile.health.url == "https://other:9090/alfresco/healthcheck"
    assert settings.profile.health.timeout == 2.5
    assert settings.profile.health.urls[1:] == ("https://n2:9090/a", "https://n3:9090/a")


def test_a_bad_environment_override_is_named(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, MINIMAL), env={"SYNCWIZARD_HEALTH__TIMEOUT": "soon"})
    assert "timeout" in message and "soon" in message


@pytest.mark.parametrize(
    "conninfo",
    ["host=db dbname=alfresco user=alfresco password=s3cret", "postgresql://alf:s3cret@db/alf"],
)
def test_a_password_in_the_config_file_is_refused(tmp_path: Path, conninfo: str) -> None:
    text = MINIMAL.replace("host=db dbname=alfresco user=alfresco", conninfo)
    message = error_of(write(tmp_path, text))
    assert "password" in message and "s3cret" not in message


def test_broker_password_from_env_then_file(tmp_path: Path) -> None:
    secret = tmp_path / "broker-password"
    secret.write_text("from-file\n")
    secret.chmod(0o600)
    text = MINIMAL.replace(
        'jolokia_url = "http://mq:8161/api/jolokia"',
        f'jolokia_url = "http://mq:8161/api/jolokia"\npassword_file = "{secret}"',
    )
    broker = load_settings(write(tmp_path, text), None, {}).profile.broker
    assert broker_password(broker, {}) == "from-file"
    assert broker_password(broker, {"SYNCWIZARD_BROKER_PASSWORD": "from-env"}) == "from-env"


def test_a_secret_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "broker-password"
    secret.write_text("pw\n")
    secret.chmod(0o644)
    text = MINIMAL.replace(
        'jolokia_url = "http://mq:8161/api/jolokia"',
        f'jolokia_url = "http://mq:8161/api/jolokia"\npassword_file = "{secret}"',
    )
    broker = load_settings(write(tmp_path, text), None, {}).profile.broker
    with pytest.raises(SyncWizardError, match="readable by other users") as caught:
        broker_password(broker, {})
    assert caught.value.hint == f"run: chmod 600 {secret}"


def test_show_masks_the_secret(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, MINIMAL), None, {})
    shown = describe(settings, {"SYNCWIZARD_BROKER_PASSWORD": "hunter22"})
    assert "hunter22" not in repr(shown)
    assert shown["broker"]["password"].startswith("********")
    assert describe(settings, {})["broker"]["password"] == "(not set)"


def test_writing_a_profile_keeps_the_admins_comments(tmp_path: Path) -> None:
    path = write(tmp_path, "# my precious comment\n" + MINIMAL)
    sections = {
        "health": {"url": "https://127.0.0.1:9090/alfresco/healthcheck"},
        "broker": {"jolokia_url": "http://127.0.0.1:8161/api/jolokia"},
        "repository_db": {"conninfo": "host=127.0.0.1 dbname=alfresco user=alfresco"},
        "sync_db": {"conninfo": "host=127.0.0.1 dbname=syncservice user=sync"},
    }
    write_profile(path, "lab", sections)
    write_profile(path, "lab", sections)  # twice: replaced, not duplicated
    text = path.read_text()
    assert "# my precious comment" in text
    assert text.count("[profiles.lab.health]") == 1
    assert load_settings(path, "lab", {}).profile.health.url.startswith("https://127.0.0.1")
    assert load_settings(path, None, {}).profile.name == "prod"


# --- credentials inside URLs -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("original", "with_credentials", "key"),
    [
        (HEALTH_URL, 'url = "https://ops:s3cret@sync:9090/alfresco/healthcheck"', "health.url"),
        (
            HEALTH_URL,
            HEALTH_URL + '\nother_nodes = ["https://sync2:9090/a", "http://ops:s3cret@sync3/a"]',
            "health.other_nodes",
        ),
        (
            JOLOKIA_URL,
            'jolokia_url = "http://admin:s3cret@mq:8161/api/jolokia"',
            "broker.jolokia_url",
        ),
        (
            JOLOKIA_URL,
            JOLOKIA_URL + '\nstomp = "stomp+ssl://admin:s3cret@mq:61614"',
            "broker.stomp",
        ),
    ],
)
def test_a_url_with_a_password_is_refused_without_echoing_it(
    tmp_path: Path, original: str, with_credentials: str, key: str
) -> None:
    path = write(tmp_path, MINIMAL.replace(original, with_credentials))
    with pytest.raises(SyncWizardError) as caught:
        load_settings(path, None, {})

    error = caught.value
    assert error.system == "config"
    assert f"profiles.prod.{key} has credentials in it" in error.message
    assert "***@" in error.message
    assert "s3cret" not in error.render() and "ops:" not in error.render()
    assert "user:password@" in error.hint


def test_the_hint_says_where_the_broker_password_goes_instead(tmp_path: Path) -> None:
    text = MINIMAL.replace(JOLOKIA_URL, 'jolokia_url = "http://admin:s3cret@mq:8161/api/jolokia"')
    with pytest.raises(SyncWizardError) as caught:
        load_settings(write(tmp_path, text), None, {})

    message, hint = caught.value.message, caught.value.hint
    assert "profiles.prod.broker.jolokia_url" in message
    assert "http://***@mq:8161/api/jolokia" in message and "from the config file" in message
    assert "broker.user" in hint and "broker.password_env" in hint
    assert "broker.password_file" in hint


def test_the_hint_says_the_health_check_needs_no_credentials(tmp_path: Path) -> None:
    text = MINIMAL.replace(HEALTH_URL, 'url = "https://ops:s3cret@sync:9090/alfresco/healthcheck"')
    with pytest.raises(SyncWizardError) as caught:
        load_settings(write(tmp_path, text), None, {})

    assert "profiles.prod.health.url" in caught.value.message
    assert "https://***@sync:9090/alfresco/healthcheck" in caught.value.message
    assert "needs no credentials" in caught.value.hint


def test_a_url_naming_only_a_user_is_refused_too(tmp_path: Path) -> None:
    text = MINIMAL.replace(JOLOKIA_URL, 'jolokia_url = "http://admin@mq:8161/api/jolokia"')
    message = error_of(write(tmp_path, text))

    assert "profiles.prod.broker.jolokia_url has credentials in it" in message
    assert "admin@" not in message


def test_a_url_with_credentials_from_the_environment_is_refused_naming_the_variable(
    tmp_path: Path,
) -> None:
    env = {"SYNCWIZARD_HEALTH__URL": "https://ops:s3cret@other:9090/alfresco/healthcheck"}
    message = error_of(write(tmp_path, MINIMAL), env=env)

    assert "profiles.prod.health.url" in message
    assert "SYNCWIZARD_HEALTH__URL" in message
    assert "s3cret" not in message


def test_a_password_containing_an_at_sign_is_masked_whole(tmp_path: Path) -> None:
    text = MINIMAL.replace(JOLOKIA_URL, 'jolokia_url = "http://admin:p@ss@mq:8161/api/jolokia"')
    message = error_of(write(tmp_path, text))

    assert "http://***@mq:8161/api/jolokia" in message
    assert "p@ss" not in message and "ss@mq" not in message


def test_an_at_sign_in_the_path_is_not_taken_for_credentials(tmp_path: Path) -> None:
    text = MINIMAL.replace(JOLOKIA_URL, 'jolokia_url = "http://mq:8161/api/jolokia?who=a@b"')
    settings = load_settings(write(tmp_path, text), None, {})
    assert settings.profile.broker.jolokia_url.endswith("?who=a@b")


def test_config_show_never_prints_a_url_password(tmp_path: Path) -> None:
    text = MINIMAL.replace(JOLOKIA_URL, 'jolokia_url = "http://admin:s3cret@mq:8161/api/jolokia"')
    path = write(tmp_path, text)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["config", "show", "--config", str(path)])

    assert code == 2
    assert "s3cret" not in out.getvalue() + err.getvalue()
    assert "broker.jolokia_url has credentials in it" in err.getvalue()


# --- numbers out of range --------------------------------------------------------------------


def with_line(section: str, line: str) -> str:
    """MINIMAL with `line` added to `[profiles.prod.<section>]`."""
    header = f"[profiles.prod.{section}]"
    if header in MINIMAL:
        return MINIMAL.replace(header, f"{header}\n{line}")
    return MINIMAL + f"{header}\n{line}\n"


@pytest.mark.parametrize(
    ("section", "line", "shown", "expected"),
    [
        ("health", "timeout = -1", "-1", "a number of seconds greater than 0"),
        ("health", "timeout = 0", "0", "a number of seconds greater than 0"),
        ("health", "timeout = inf", "inf", "a number of seconds greater than 0"),
        ("health", "timeout = nan", "nan", "a number of seconds greater than 0"),
        ("broker", "timeout = -5", "-5", "a number of seconds greater than 0"),
        ("sync_service", "timeout = 0", "0", "a number of seconds greater than 0"),
        ("repository", "ready_timeout = -1", "-1", "a number of seconds greater than 0"),
        ("repository_db", "timeout = 0", "0", "a number of seconds greater than 0"),
        ("sync_db", "lock_timeout = -1", "-1", "a number of seconds greater than 0"),
        ("backup", "jobs = -3", "-3", "a whole number, 1 or more"),
        ("backup", "jobs = 0", "0", "a whole number, 1 or more"),
        ("backup", 'compress = "12"', '"12"', 'a gzip level from "0" (none) to "9"'),
        ("backup", 'compress = "-1"', '"-1"', 'a gzip level from "0" (none) to "9"'),
        ("backup", "countdown = 0", "0", "a number of seconds greater than 0"),
        ("backup", "drain_timeout = -1800", "-1800", "a number of seconds greater than 0"),
        ("backup", "drain_interval = 0", "0", "a number of seconds greater than 0"),
        ("backup", "drain_confirm = -1", "-1", "a number of seconds, 0 or more"),
        ("backup", "clock_skew = -0.5", "-0.5", "a number of seconds, 0 or more"),
        ("backup", "publish_lag = -1", "-1", "a number of seconds, 0 or more"),
        ("backup", "stall_after = 0", "0", "a number of seconds greater than 0"),
        ("backup", 'format = "tar"', '"tar"', '"directory" or "custom"'),
        ("backup", 'wait_mode = "sleep"', '"sleep"', '"drain" or "countdown"'),
    ],
)
def test_a_number_out_of_range_is_refused_naming_key_profile_value_and_range(
    tmp_path: Path, section: str, line: str, shown: str, expected: str
) -> None:
    key = line.split(" = ")[0]
    message = error_of(write(tmp_path, with_line(section, line)))

    assert f"profiles.prod.{section}.{key} = {shown} is out of range" in message
    assert f"expected {expected}" in message


def test_the_ends_of_each_range_are_accepted(tmp_path: Path) -> None:
    text = MINIMAL + (
        f'[profiles.prod.backup]\ndir = "{tmp_path}"\njobs = 1\ncompress = "9"\n'
        "drain_confirm = 0\nclock_skew = 0\ncountdown = 0.5\n[ui]\npoll_interval = 0.1\n"
    )
    settings = load_settings(write(tmp_path, text), None, {})
    backup = settings.profile.backup
    assert (backup.jobs, backup.compress, backup.drain_confirm, backup.clock_skew) == (1, "9", 0, 0)
    assert settings.ui.poll_interval == 0.1


def test_a_poll_interval_below_a_tenth_of_a_second_is_refused(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, MINIMAL + "[ui]\npoll_interval = 0.01\n"))
    assert "ui.poll_interval = 0.01 is out of range: expected a number of seconds, 0.1 or more" in (
        message
    )


def test_the_hint_for_a_value_out_of_range_names_the_default(tmp_path: Path) -> None:
    with pytest.raises(SyncWizardError) as caught:
        load_settings(write(tmp_path, MINIMAL.replace(HEALTH_URL, HEALTH_URL + "\ntimeout = -1")))
    assert "remove the line to get the default (5)" in caught.value.hint


@pytest.mark.parametrize(
    ("variable", "value", "key"),
    [
        ("SYNCWIZARD_HEALTH__TIMEOUT", "-1", "health.timeout = -1"),
        ("SYNCWIZARD_BACKUP__JOBS", "-3", "backup.jobs = -3"),
        ("SYNCWIZARD_BROKER__TIMEOUT", "inf", "broker.timeout = inf"),
        ("SYNCWIZARD_BACKUP__COMPRESS", "fast", 'backup.compress = "fast"'),
    ],
)
def test_an_environment_override_out_of_range_is_refused_naming_the_variable(
    tmp_path: Path, variable: str, value: str, key: str
) -> None:
    with pytest.raises(SyncWizardError) as caught:
        load_settings(write(tmp_path, MINIMAL), None, {variable: value})

    assert f"profiles.prod.{key} (set by the environment variable {variable})" in (
        caught.value.message
    )
    assert "is out of range: expected" in caught.value.message
    assert variable in caught.value.hint


# --- a file that is not UTF-8 ----------------------------------------------------------------


def test_a_config_file_that_is_not_utf8_names_the_line_and_byte(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'default_profile = "prod"\n# caf\xe9 (saved as Latin-1)\n')

    with pytest.raises(SyncWizardError) as caught:
        load_settings(path, None, {})

    error = caught.value
    assert error.system == "config"
    assert f"the config file {path} is not UTF-8 text" in error.message
    assert "the byte 0xE9 on line 2 (byte 6 of the line, byte offset 30 in the file)" in (
        error.message
    )
    assert "save it as UTF-8" in error.hint and "iconv" in error.hint


def test_a_config_file_that_is_not_utf8_exits_2_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'default_profile = "prod"\n\xff\xfe\n')
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["status", "--config", str(path)])

    assert code == 2
    assert "is not UTF-8 text" in err.getvalue() and "line 2" in err.getvalue()
    assert "Traceback" not in err.getvalue()


def test_adding_a_profile_to_a_file_that_is_not_utf8_leaves_it_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    original = MINIMAL.encode() + b"# \xe9\n"
    path.write_bytes(original)

    with pytest.raises(SyncWizardError, match="is not UTF-8 text"):
        write_profile(path, "lab", {"health": {"url": "https://127.0.0.1:9090/a"}})

    assert path.read_bytes() == original


def test_the_repository_section_reads_its_readiness_url_and_refuses_credentials_in_it(
    tmp_path: Path,
) -> None:
    ready = "http://acs:8080/alfresco/api/-default-/public/alfresco/versions/1/probes/-ready-"
    text = MINIMAL + (
        f'\n[profiles.prod.repository]\nstart = "systemctl start alfresco"\nready_url = "{ready}"\n'
    )
    repository = load_settings(write(tmp_path, text), None, {}).profile.repository
    assert (repository.start, repository.ready_url, repository.quiet_window) == (
        "systemctl start alfresco",
        ready,
        5.0,
    )
    leaking = text.replace("http://acs", "http://admin:s3cret@acs")
    message = error_of(write(tmp_path, leaking))
    assert "profiles.prod.repository.ready_url has credentials in it" in message
    assert "s3cret" not in message


def test_a_quiet_window_of_no_time_is_refused(tmp_path: Path) -> None:
    text = MINIMAL + "\n[profiles.prod.repository]\nquiet_window = 0\n"
    message = error_of(write(tmp_path, text))
    assert "profiles.prod.repository.quiet_window = 0" in message
    assert "greater than 0" in message
