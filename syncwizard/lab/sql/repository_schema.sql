-- The practice lab's repository database: a small look-alike of Alfresco's node tables.
CREATE TABLE alf_node (
    id bigserial PRIMARY KEY,
    uuid uuid NOT NULL UNIQUE,
    type_qname text NOT NULL,
    name text NOT NULL,
    parent_id bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    modified_at timestamptz NOT NULL DEFAULT now(),
    deleted boolean NOT NULL DEFAULT false
);

CREATE INDEX alf_node_parent ON alf_node (parent_id);

CREATE TABLE alf_node_properties (
    node_id bigint REFERENCES alf_node (id),
    qname text,
    string_value text,
    PRIMARY KEY (node_id, qname)
);

-- Alfresco's record of the schema patches applied, with the version that applied each one:
-- where the wizard reads the repository's version without the repository running.
CREATE TABLE alf_applied_patch (
    id varchar(64) PRIMARY KEY,
    description varchar(1024),
    fixes_from_schema integer,
    fixes_to_schema integer,
    applied_to_schema integer,
    target_schema integer,
    applied_on_date timestamp,
    applied_to_server varchar(64),
    was_executed boolean,
    succeeded boolean,
    report varchar(1024)
);

INSERT INTO alf_applied_patch VALUES
    ('patch.db-V23.1-Schema', 'Lab schema', 0, 19000, 19000, 19000,
     '2026-01-10 09:00:00', '23.1.0 (r8d8d3c5b-b291) - Enterprise', true, true, 'applied'),
    ('patch.db-V23.2-Schema', 'Lab schema', 19000, 19100, 19100, 19100,
     '2026-06-02 09:00:00', '23.2.1 (r4c3e8f1d-b12) - Enterprise', true, true, 'applied');
