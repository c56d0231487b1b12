"""The restore runbook: its steps, choices, systems, the clear, databases and services."""
