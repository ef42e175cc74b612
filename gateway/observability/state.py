"""Metrics read from the database and Redis when /metrics is scraped, at most once per
`metrics_refresh_seconds` per process: unfinished jobs by status and provider, the age of the
oldest queued job, mirroring lag, how late the most overdue look is, and the depth of Celery's
queues. Only the process that answers the scrape reads them, so they are exact in multiprocess
mode too."""

import asyncio
import logging
import time
from collections.abc import Iterable

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from gateway.fine_tuning.status import JobStatus
from gateway.observability import backends, repository
from gateway.runtime import Runtime

log = logging.getLogger(__name__)

READ_TIMEOUT_SECONDS = 5.0


class StateReader:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._families: list[Metric] = []
        self._read_at: float | None = None
        self._lock = asyncio.Lock()

    async def families(self) -> list[Metric]:
        refresh = self.runtime.settings.metrics_refresh_seconds
        async with self._lock:
            if self._read_at is None or time.monotonic() - self._read_at >= refresh:
                self._families = await self._read()
                self._read_at = time.monotonic()
        return self._families

    async def _read(self) -> list[Metric]:
        families: list[Metric] = []
        readable = GaugeMetricFamily(
            "ftgate_state_readable",
            "1 when the database (and Redis, where used) answered the latest read of these metrics.",
            labels=["source"],
        )
        try:
            async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                families += await self._database_families(time.time())
            readable.add_metric(["database"], 1)
        except (SQLAlchemyError, OSError, TimeoutError) as error:  # a scrape answers whatever is down
            log.warning("job metrics not read from the database: %r", error)
            readable.add_metric(["database"], 0)
        if self.runtime.settings.queue == "celery":
            try:
                families.append(await self._queue_depth())
                readable.add_metric(["redis"], 1)
            except (RedisError, OSError) as error:
                log.warning("queue depth not read from Redis: %r", error)
                readable.add_metric(["redis"], 0)
        return [*families, readable]

    async def _database_families(self, now: float) -> Iterable[Metric]:
        async with self.runtime.sessions() as session:
            groups = await repository.unfinished_jobs(session)
            earliest_due_ms = await repository.earliest_due_look_ms(session)
        jobs = GaugeMetricFamily(
            "ftgate_jobs",
            "Unfinished fine-tuning jobs, by status and provider.",
            labels=["status", "provider"],
        )
        queued_age = GaugeMetricFamily(
            "ftgate_queued_job_age_seconds",
            "How long the job queued longest ago has waited, by provider.",
            labels=["provider"],
        )
        mirror_lag = GaugeMetricFamily(
            "ftgate_upstream_mirror_lag_seconds",
            "Time since the upstream job looked at longest ago was last looked at, by status and provider.",
            labels=["status", "provider"],
        )
        for group in groups:
            jobs.add_metric([group.status, group.provider], group.count)
            if group.status == JobStatus.QUEUED:
                queued_age.add_metric([group.provider], max(0.0, now - group.oldest_change))
            if group.oldest_look_ms is not None:
                mirror_lag.add_metric(
                    [group.status, group.provider], max(0.0, now - group.oldest_look_ms / 1000)
                )
        lateness = GaugeMetricFamily(
            "ftgate_upstream_look_lateness_seconds",
            "How long past its time the most overdue look at an upstream job is (0: none is overdue).",
            value=0.0 if earliest_due_ms is None else max(0.0, now - earliest_due_ms / 1000),
        )
        return [jobs, queued_age, mirror_lag, lateness]

    async def _queue_depth(self) -> Metric:
        depth = GaugeMetricFamily(
            "ftgate_celery_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"]
        )
        settings = self.runtime.settings
        async with backends.redis_client(settings, READ_TIMEOUT_SECONDS) as client:
            keys = backends.celery_queue_keys(settings)
            async with client.pipeline(transaction=False) as pipe:
                for queue_keys in keys.values():
                    for key in queue_keys:
                        pipe.llen(key)
                lengths = iter(await pipe.execute())
        for queue, queue_keys in keys.items():
            depth.add_metric([queue], sum(next(lengths) for _ in queue_keys))
        return depth
