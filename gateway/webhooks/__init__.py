"""Project webhooks: `fine_tuning.job.*` events signed the Standard Webhooks way, delivered at least
once with retries, every attempt logged."""
