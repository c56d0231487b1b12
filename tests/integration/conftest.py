"""Fixtures shared by the integration tests, one module per part of the lab."""

from broker_fixture import broker_lab, event2_broker_lab  # noqa: F401
from current_lab_fixture import current_lab, current_lab_config  # noqa: F401
from lab_fixture import lab, lab_config, lab_sync_id  # noqa: F401
from mariadb_fixture import mariadb_lab  # noqa: F401
from pg_fixture import pg_lab  # noqa: F401
from set_fixture import backup_set  # noqa: F401
