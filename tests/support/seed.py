"""Write what a provider will write (a finished job, its checkpoints) straight into the
database, so the read API can be tested before any provider exists."""

import time

from sqlalchemy import update

from gateway import ids
from gateway.models import Job, JobCheckpoint
from gateway.runtime import build_runtime
from gateway.settings import Settings
from tests.support.blocking import wait_for


def finish_job(settings: Settings, job_id: str, steps: list[int], model_name: str) -> None:
    wait_for(_finish_job(settings, job_id, steps, model_name))


async def _finish_job(settings: Settings, job_id: str, steps: list[int], model_name: str) -> None:
    runtime = build_runtime(settings, lambda *_: None)
    now = int(time.time())
    try:
        async with runtime.transaction() as session:
            for step in steps:
                session.add(
                    JobCheckpoint(
                        id=ids.new_checkpoint_id(),
                        job_id=job_id,
                        created_at=now,
                        fine_tuned_model_checkpoint=f"{model_name}:ckpt-step-{step}",
                        step_number=step,
                        metrics={"step": float(step), "train_loss": 1.0 / step},
                    )
                )
            await session.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(status="succeeded", fine_tuned_model=model_name, finished_at=now, trained_tokens=4321)
            )
    finally:
        await runtime.close()
