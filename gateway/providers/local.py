"""The local trainer as a provider: the jobs on the catalog's local models (`provider: local`).
ftgate trains them itself (`workers/local/`) and its own engine serves the models they make;
there is nothing to send anywhere or to look at."""

from typing import Any

from gateway.catalog import LOCAL_PROVIDER
from gateway.providers.base import Action, Driver, Unsupported


class LocalProvider:
    name = LOCAL_PROVIDER
    actions: frozenset[Action] = frozenset({"cancel", "pause", "resume"})
    driver = Driver.TRAINER
    chats_here = True

    def unsupported(self, request: dict[str, Any]) -> Unsupported | None:
        return None  # the trainer's limits are the catalog's (a model's methods), checked before

    async def close(self) -> None:
        return None
