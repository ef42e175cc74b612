"""A lane in front of FastAPI's routing for the few reads clients repeat most.

A GET whose path is a hot read's template is answered from `reader` rows, with no route matching,
dependency solving or session: its read finds the caller of the request's key and the page
together, in one statement, and the caller is then admitted as its route would admit it (one
request from its rate limit). The lane answers only a success it is sure of. Anything else steps
aside to the ordinary route with the scope as it came, so every error is the route's own: no or a
wrong key, a rate limit refusal, a parameter outside the route's bounds or one the lane does not
know (a metadata filter), an id the caller's project does not hold, a database that cannot answer
at once. A caller admitted before the lane stepped aside is left in the request's state;
`ProjectRoute` then admits it without asking the rate limit twice.
"""

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway import auth, projects
from gateway.errors import GatewayError
from gateway.hot_reads.reader import Reader, ReadFailed
from gateway.projects import Caller
from gateway.ratelimit.admission import admit_request

MAX_LIMIT = 1000
PAGE_PARAMS = frozenset({"after", "limit"})


@dataclass(frozen=True)
class PageParams:
    after: str | None
    limit: int


# The caller of the key, and the page's bytes (None where the route must answer).
CallerAndPage = tuple[Caller, bytes | None]
# (reader, the key's hash, the path's parameters, the page) -> None where no live key has that hash.
Answer = Callable[[Reader, str, dict[str, str], PageParams], Awaitable[CallerAndPage | None]]


@dataclass(frozen=True)
class HotRead:
    # The route's template; the lane leaves the read as the scope's route, so metrics count it
    # under this path as they count the route.
    path: str
    answer: Answer
    paged: bool
    default_limit: int = 0
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.path)
        object.__setattr__(self, "pattern", re.compile(regex))

    def page(self, query_string: bytes) -> PageParams | None:
        """The page asked for; None where the route's own checks must answer."""
        pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
        names = [name for name, _ in pairs]
        allowed = PAGE_PARAMS if self.paged else frozenset()
        if len(set(names)) != len(names) or not allowed.issuperset(names):
            return None
        given = dict(pairs)
        if any("\x00" in value for value in given.values()):
            return None
        limit = given.get("limit", str(self.default_limit))
        if self.paged and not (limit.isdigit() and 1 <= int(limit) <= MAX_LIMIT):
            return None
        return PageParams(after=given.get("after"), limit=int(limit))


class HotReadsMiddleware:
    def __init__(self, app: ASGIApp, reads: Sequence[HotRead]) -> None:
        self.app = app
        self._reads = reads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            body = await self._answer(scope)
            if body is not None:
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [
                            (b"content-length", str(len(body)).encode()),
                            (b"content-type", b"application/json"),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope) -> bytes | None:
        runtime = scope["app"].state.runtime
        if runtime.hot_reader is None or "\x00" in scope["path"]:
            return None
        for read in self._reads:
            matched = read.pattern.fullmatch(scope["path"])
            if matched is not None:
                break
        else:
            return None
        page = read.page(scope["query_string"])
        if page is None:
            return None
        request = Request(scope)
        try:
            key_hash = projects.hash_key(auth.bearer_secret(request))
            found = await read.answer(runtime.hot_reader, key_hash, matched.groupdict(), page)
            if found is None:
                return None
            caller, body = found
            await admit_request(request, runtime.rate_limiter, caller)
        except (GatewayError, ReadFailed):
            return None
        request.state.caller = caller
        if body is not None:
            scope["route"] = read
        return body
