"""The backup wizard's screens and how the TUI starts backup runs."""
