-- The practice lab's Sync Service database on MariaDB: the tables of sync_schema.sql.
CREATE TABLE sync_service_id (
    id int PRIMARY KEY CHECK (id = 1),
    guid char(36) NOT NULL
) ENGINE=InnoDB;

CREATE TABLE sync_node (
    node_uuid char(36) PRIMARY KEY,
    name varchar(255),
    last_event_type varchar(64) NOT NULL,
    last_event_id varchar(255),
    last_event_at datetime(6),
    synced_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB;

CREATE TABLE sync_event_log (
    id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
    message_id varchar(255) UNIQUE,
    node_uuid char(36),
    event_type varchar(64),
    event_time datetime(6),
    received_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
) ENGINE=InnoDB;

CREATE TABLE sync_recovery (
    id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
    started_at datetime(6) NOT NULL,
    finished_at datetime(6),
    added int,
    removed int
) ENGINE=InnoDB;
