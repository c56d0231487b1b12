"""Practice: the training scenarios on the lab, played with the real wizard (issue 12)."""
