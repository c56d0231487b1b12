-- The practice lab's Sync Service database (table names contain "sync", like the real ones).
CREATE TABLE sync_service_id (
    id int PRIMARY KEY CHECK (id = 1),
    guid uuid NOT NULL
);

CREATE TABLE sync_node (
    node_uuid uuid PRIMARY KEY,
    name text,
    last_event_type text NOT NULL,
    last_event_id text,
    last_event_at timestamptz,
    synced_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sync_event_log (
    id bigserial PRIMARY KEY,
    message_id text UNIQUE,
    node_uuid uuid,
    event_type text,
    event_time timestamptz,
    received_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sync_recovery (
    id bigserial PRIMARY KEY,
    started_at timestamptz NOT NULL,
    finished_at timestamptz,
    added int,
    removed int
);
