"""What an operator watches: Prometheus metrics, health and readiness, and JSON logs."""
