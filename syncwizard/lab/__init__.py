"""The practice lab: a local stack of PostgreSQL, ActiveMQ, a Sync Service stand-in."""
