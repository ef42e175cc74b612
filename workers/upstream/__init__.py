"""The upstream side of the workers: send jobs, forward client actions, mirror what happens."""
