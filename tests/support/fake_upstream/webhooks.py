"""OpenAI's fine-tuning webhooks, signed the Standard Webhooks way and retried on failure."""

import asyncio
import json
import time
from datetime import UTC, datetime

import httpx
from standardwebhooks.webhooks import Webhook

from .lifecycle import Job, random_id

RETRY_DELAYS = (0.1, 0.3, 1.0)


class WebhookSender:
    def __init__(self, url: str, secret: str) -> None:
        self.url = url
        self.webhook = Webhook(secret)
        self.client = httpx.AsyncClient(timeout=5.0)
        self.tasks: set[asyncio.Task[None]] = set()

    def send(self, job: Job) -> None:
        """Announce the job's terminal status in the background."""
        task = asyncio.create_task(self._deliver(job, f"fine_tuning.job.{job.status}"))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _deliver(self, job: Job, event_type: str) -> None:
        event_id = random_id("evt_")
        payload = {"id": event_id, "object": "event", "type": event_type, "created_at": int(time.time())}
        body = json.dumps({**payload, "data": {"id": job.id}})
        for delay in (*RETRY_DELAYS, None):
            now = datetime.now(UTC)
            headers = {
                "content-type": "application/json",
                "webhook-id": event_id,
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": self.webhook.sign(event_id, now, body),
            }
            try:
                status = (await self.client.post(self.url, content=body, headers=headers)).status_code
            except httpx.HTTPError:
                status = None
            job.webhook_attempts.append(
                {"event_id": event_id, "type": event_type, "status": status, "at": time.time()}
            )
            if (status is not None and status < 300) or delay is None:
                return
            await asyncio.sleep(delay)

    async def aclose(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.client.aclose()
