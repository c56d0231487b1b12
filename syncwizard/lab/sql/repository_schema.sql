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
