"""The admin API answers only the operator's key (FTGATE_ADMIN_KEY); it is off without one."""

import secrets
from typing import Annotated

from fastapi import Depends, Request

from gateway import auth
from gateway.errors import AuthenticationFailed
from gateway.settings import Settings

ADMIN_ACTOR = "admin"


def check_admin_key(request: Request, settings: Settings) -> str:
    """The audit log's actor for this request; `AdminRoute` asks before reading the body."""
    admin_key = settings.admin_key
    if admin_key is None:
        raise AuthenticationFailed(
            "The admin API is off: the operator sets FTGATE_ADMIN_KEY to turn it on.",
            headers=auth.BEARER_CHALLENGE,
        )
    secret = auth.bearer_secret(request)
    if not secrets.compare_digest(secret.encode(), admin_key.get_secret_value().encode()):
        raise AuthenticationFailed(
            "Incorrect admin key provided.", code="invalid_api_key", headers=auth.BEARER_CHALLENGE
        )
    return ADMIN_ACTOR


async def admin_actor(request: Request) -> str:
    return request.state.admin_actor


AdminDep = Annotated[str, Depends(admin_actor)]
