"""Limits set straight in the database, for tests that need a key or a project held to some."""

from typing import Any

from sqlalchemy import select, update

from gateway import db
from gateway.models import ApiKey, Project
from gateway.projects import hash_key
from tests.support.blocking import wait_for


async def set_limits_async(
    database_url: str,
    secret: str,
    *,
    key: dict[str, Any] | None = None,
    project: dict[str, Any] | None = None,
) -> str:
    """Set the limits of the key whose secret is `secret` and/or of its project (a dict as
    `Limits` reads it; an empty one clears them). Returns the key's id."""
    engine = db.create_engine(database_url)
    try:
        async with engine.begin() as connection:
            key_id, project_id = (
                await connection.execute(
                    select(ApiKey.id, ApiKey.project_id).where(ApiKey.key_hash == hash_key(secret))
                )
            ).one()
            if key is not None:
                await connection.execute(update(ApiKey).where(ApiKey.id == key_id).values(limits=key))
            if project is not None:
                await connection.execute(
                    update(Project).where(Project.id == project_id).values(limits=project)
                )
    finally:
        await engine.dispose()
    return key_id


def set_limits(
    database_url: str,
    secret: str,
    *,
    key: dict[str, Any] | None = None,
    project: dict[str, Any] | None = None,
) -> str:
    return wait_for(set_limits_async(database_url, secret, key=key, project=project))
