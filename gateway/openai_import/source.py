"""Where to import from: a configured upstream, or a key and base URL given for the import."""

from pydantic import SecretStr

from gateway.errors import InvalidRequest
from gateway.providers.config import UpstreamSpec
from gateway.settings import Settings

# The upstream whose name imported jobs carry when none is named: chats to their models go
# there once it is configured (FTGATE_OPENAI_API_KEY makes it).
DEFAULT_UPSTREAM = "openai"


def import_spec(
    settings: Settings, *, upstream: str | None, api_key: str | None, base_url: str | None
) -> UpstreamSpec:
    """The upstream to read: `upstream` (a configured one) if named; else `api_key` at `base_url`
    (OpenAI's by default); else the configured `openai` upstream."""
    configured = {spec.name: spec for spec in settings.upstreams}
    if upstream is not None:
        if upstream not in configured:
            raise InvalidRequest(f"No upstream named {upstream!r} is configured.", param="upstream")
        spec = configured[upstream]
    elif api_key:
        spec = UpstreamSpec(name=DEFAULT_UPSTREAM, api_key=SecretStr(api_key))
    elif DEFAULT_UPSTREAM in configured:
        spec = configured[DEFAULT_UPSTREAM]
    else:
        raise InvalidRequest(
            "No OpenAI key: set OPENAI_API_KEY, or name a configured upstream.", param="upstream"
        )
    if base_url:
        spec = UpstreamSpec.model_validate(spec.model_dump() | {"base_url": base_url})
    return spec
