"""One key prefix per test run on the shared Redis: a worker of another run, or a developer's
own, never sees this run's queues, unacknowledged messages or rate-limit buckets."""

import os
import secrets

REDIS_URL = os.environ.get("FTGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_KEY_PREFIX = f"ftgate-test-{secrets.token_hex(4)}:"
