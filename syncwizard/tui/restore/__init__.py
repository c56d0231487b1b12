"""The restore wizard's screens and how the TUI starts restore runs."""
