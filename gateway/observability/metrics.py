"""The metrics every process records, in Prometheus' default registry.

With PROMETHEUS_MULTIPROC_DIR set (before this module is imported) each process writes its values
into that folder and whoever serves /metrics adds them up (`exposition.registry`): several uvicorn
workers, and a Celery worker's pool. Gauges say how the values of several processes combine.
What the database and Redis hold (jobs, queues, mirroring lag) is read when scraped instead, by
`state.StateCollector`.
"""

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

disable_created_metrics()  # a `_created` series beside each one doubles what is scraped, for nothing

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

HTTP_REQUESTS = Counter(
    "ftgate_http_requests",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "ftgate_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
HTTP_IN_PROGRESS = Gauge(
    "ftgate_http_requests_in_progress",
    "Requests being answered now.",
    multiprocess_mode="livesum",
)

UPSTREAM_REQUESTS = Counter(
    "ftgate_upstream_requests",
    "HTTP requests sent to upstreams (each retry counts), by upstream and outcome: the status, "
    "or `no_answer` for a timeout or a dropped connection.",
    ["upstream", "outcome"],
)
UPSTREAM_RETRIES = Counter(
    "ftgate_upstream_retries", "Upstream requests sent again after a failed try.", ["upstream"]
)
UPSTREAM_ERRORS = Counter(
    "ftgate_upstream_errors",
    "Upstream requests that failed for good (after their retries), by upstream and status "
    "(`no_answer` for a timeout or a dropped connection).",
    ["upstream", "status"],
)

CELERY_TASKS = Counter(
    "ftgate_celery_tasks",
    "Tasks a Celery worker ran, by name and final state (SUCCESS, FAILURE…).",
    ["task", "state"],
)

JOB_MOVES = Counter(
    "ftgate_job_status_changes",
    "Fine-tuning jobs that entered a status, by status and provider.",
    ["status", "provider"],
)
TRAINED_TOKENS = Counter(
    "ftgate_training_tokens",
    "Tokens trained by the local trainer (rate() gives tokens per second), by base model.",
    ["base_model"],
)
CHAT_TOKENS = Counter(
    "ftgate_chat_tokens",
    "Chat completion tokens, by kind (prompt or completion) and where the model runs.",
    ["kind", "provider"],
)
BUDGET_REFUSALS = Counter(
    "ftgate_budget_refusals",
    "Requests and jobs refused by a budget or limit, by the limit and its scope (project or key).",
    ["limit", "scope"],
)


def count_chat_tokens(provider: str, prompt_tokens: int, completion_tokens: int) -> None:
    CHAT_TOKENS.labels("prompt", provider).inc(prompt_tokens)
    CHAT_TOKENS.labels("completion", provider).inc(completion_tokens)
