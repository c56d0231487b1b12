"""Training on the practice lab: scenarios the trainee plays with the real wizard, graded."""
