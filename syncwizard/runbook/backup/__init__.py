"""The backup runbook: its steps, options, systems, the snapshot dump and the drain."""
