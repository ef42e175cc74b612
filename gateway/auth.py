"""Bearer-key authentication with OpenAI's 401 bodies."""

from fastapi import Request

from gateway import db, projects
from gateway.errors import AuthenticationFailed
from gateway.hot_reads.reader import ReadFailed
from gateway.projects import Caller
from gateway.runtime import Runtime

MISSING_KEY_MESSAGE = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). An operator creates keys with "
    "`ftgate keys create --project NAME`."
)
BEARER_CHALLENGE = {"www-authenticate": 'Bearer realm="ftgate"'}


def bearer_secret(request: Request) -> str:
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise AuthenticationFailed(MISSING_KEY_MESSAGE, headers=BEARER_CHALLENGE)
    return secret


async def authenticate(runtime: Runtime, secret: str) -> Caller:
    key_hash = projects.hash_key(secret)

    async def look_up() -> Caller | None:
        if runtime.hot_reader is not None:
            try:
                return await projects.read_caller(runtime.hot_reader, key_hash)
            except ReadFailed:
                pass  # the database answers through a session, waiting if it must
        async with db.reading(runtime.sessions) as session:
            return await projects.find_caller(session, key_hash)

    caller = await runtime.verified_keys.caller(key_hash, look_up)
    if caller is None:
        raise AuthenticationFailed(
            f"Incorrect API key provided: {projects.key_hint(secret) if len(secret) > 14 else '***'}.",
            code="invalid_api_key",
            headers=BEARER_CHALLENGE,
        )
    return caller
