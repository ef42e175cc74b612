"""The operator's API under /admin: projects, keys, limits, usage, webhooks, the audit log."""
