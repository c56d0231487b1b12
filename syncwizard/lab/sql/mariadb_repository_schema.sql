-- The practice lab's repository database on MariaDB: the tables of repository_schema.sql.
CREATE TABLE alf_node (
    id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
    uuid char(36) NOT NULL UNIQUE,
    type_qname varchar(255) NOT NULL,
    name varchar(255) NOT NULL,
    parent_id bigint,
    created_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    modified_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    deleted boolean NOT NULL DEFAULT false,
    KEY alf_node_parent (parent_id)
) ENGINE=InnoDB;

CREATE TABLE alf_node_properties (
    node_id bigint NOT NULL,
    qname varchar(255) NOT NULL,
    string_value text,
    PRIMARY KEY (node_id, qname),
    FOREIGN KEY (node_id) REFERENCES alf_node (id)
) ENGINE=InnoDB;

CREATE TABLE alf_applied_patch (
    id varchar(64) PRIMARY KEY,
    description varchar(1024),
    fixes_from_schema integer,
    fixes_to_schema integer,
    applied_to_schema integer,
    target_schema integer,
    applied_on_date datetime,
    applied_to_server varchar(64),
    was_executed boolean,
    succeeded boolean,
    report varchar(1024)
) ENGINE=InnoDB;

INSERT INTO alf_applied_patch VALUES
    ('patch.db-V23.1-Schema', 'Lab schema', 0, 19000, 19000, 19000,
     '2026-01-10 09:00:00', '23.1.0 (r8d8d3c5b-b291) - Enterprise', true, true, 'applied'),
    ('patch.db-V23.2-Schema', 'Lab schema', 19000, 19100, 19100, 19100,
     '2026-06-02 09:00:00', '23.2.1 (r4c3e8f1d-b12) - Enterprise', true, true, 'applied');
