"""Chat completions: which model a name means for the caller (a local one, one brought home, or
one an upstream serves), whether the request fits a local model, and the prompt and sampling the
engine runs."""

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import artifacts, ids, local_extra
from gateway.aliases import repository as aliases_repository
from gateway.catalog import BaseModelSpec, resolve_base_model
from gateway.chat.params import ChatCompletionParams, MediaPart, Message
from gateway.engines.base import EngineChat
from gateway.errors import InvalidRequest, NotFound, ServerError
from gateway.fine_tuning import repository as jobs_repository
from gateway.inference.generation import PromptError, PromptTooLong, Sampling, Target
from gateway.models import HomeAdapter, Job
from gateway.projects import Caller
from gateway.providers.base import ChatUpstream
from gateway.runtime import Runtime
from training import examples

log = logging.getLogger(__name__)

ADAPTER_CONFIG = "adapter_config.json"
TEMPLATE_KEYS = {"role", "content", "name", "tool_calls", "tool_call_id"}


def model_not_found(name: str) -> NotFound:
    """OpenAI's answer for unknown models, and for other projects' models alike."""
    return NotFound(
        f"The model `{name}` does not exist or you do not have access to it.", code="model_not_found"
    )


def chats_here(runtime: Runtime, provider_name: str) -> bool:
    """Whether ftgate's own engine serves the base models of `provider_name` and the models its
    jobs made (the local trainer's), rather than an upstream, configured here or not."""
    provider = runtime.providers.get(provider_name)
    return provider is not None and provider.chats_here


@dataclass(frozen=True)
class UpstreamRoute:
    provider: ChatUpstream
    model: str


async def upstream_route(runtime: Runtime, caller: Caller, name: str) -> UpstreamRoute | None:
    """Where to send a chat for `name` when an upstream serves it: an upstream base model, or a
    model (or checkpoint) of the caller's project that an upstream trained."""
    spec = resolve_base_model(runtime.catalog, name)
    if spec is not None:
        return (
            None
            if chats_here(runtime, spec.provider)
            else _route(runtime, spec.provider, name, spec.upstream_model or spec.id)
        )
    async with runtime.sessions() as session:
        job = await tuning_job(session, caller.project_id, name)
        if (
            job is None
            or chats_here(runtime, job.provider)
            or await home_of(runtime, session, job, name) is not None
        ):
            return None
    return _route(runtime, job.provider, name, name)


async def _tuning_job(runtime: Runtime, caller: Caller, name: str) -> Job | None:
    async with runtime.sessions() as session:
        return await tuning_job(session, caller.project_id, name)


async def home_of(runtime: Runtime, session: AsyncSession, job: Job, name: str) -> HomeAdapter | None:
    """The adapter brought home that serves `name`, when it is the job's model (its checkpoints
    stay at the upstream). None for a model trained here, which is home already."""
    if name != job.fine_tuned_model or chats_here(runtime, job.provider):
        return None
    return await session.get(HomeAdapter, job.id)


async def tuning_job(session: AsyncSession, project_id: str, name: str) -> Job | None:
    """The project's job that made `name`, a fine-tuned model or one of its checkpoints."""
    job = await jobs_repository.by_fine_tuned_model(session, project_id, name)
    if job is None and (found := await jobs_repository.checkpoint_by_model(session, project_id, name)):
        job = found[0]
    return job


async def served_model(runtime: Runtime, caller: Caller, name: str) -> str:
    """The model that answers a chat for `name`: the replacement named by the caller's project's
    alias of `name` once that alias is in force, else `name` itself. Chats (the API's and those
    made on the project's behalf) and eval runs ask this first, and from then on deal with the
    replacement only: it is routed, billed, rate limited and named in the response as if the
    caller had asked for it."""
    async with runtime.sessions() as session:
        return await _aliased(session, caller, name)


async def _aliased(session: AsyncSession, caller: Caller, name: str) -> str:
    now = int(time.time())
    return await aliases_repository.active_replacement(session, caller.project_id, name, now) or name


async def serves(runtime: Runtime, caller: Caller, name: str) -> bool:
    """Whether the caller can chat with `name`: a model its project can chat with, or an alias
    of its project in force that stands for one."""
    async with runtime.sessions() as session:
        served = await _aliased(session, caller, name)
        return await project_serves(session, runtime.offered_models, caller.project_id, served)


async def project_serves(
    session: AsyncSession, offered: list[BaseModelSpec], project_id: str, name: str
) -> bool:
    """Whether `name` is a model the project can chat with, aliases aside: a base model offered
    here, or one of the project's fine-tuned models or checkpoints."""
    if resolve_base_model(offered, name) is not None:
        return True
    return await tuning_job(session, project_id, name) is not None


async def priced_base_model(runtime: Runtime, caller: Caller, name: str) -> BaseModelSpec | None:
    """The base model whose chat prices apply to `name` (itself, or the base it was tuned from)."""
    spec = resolve_base_model(runtime.catalog, name)
    if spec is not None:
        return spec
    job = await _tuning_job(runtime, caller, name)
    return resolve_base_model(runtime.catalog, job.base_model) if job is not None else None


def _route(runtime: Runtime, provider: str, name: str, upstream_model: str) -> UpstreamRoute:
    upstream = runtime.upstream(provider)
    if upstream is None:
        raise model_not_found(name)
    return UpstreamRoute(upstream, upstream_model)


# Local models whose base model a vLLM or SGLang server serves (gateway.engines) are forwarded
# to it as to an upstream: it answers in OpenAI's shapes, and reports the usage it bills.


async def forwarded_route(runtime: Runtime, caller: Caller, name: str) -> UpstreamRoute | None:
    """Where a chat for `name` is forwarded: the upstream that serves it, or the server that
    serves its local base model; None where ftgate's own engine answers it."""
    return await upstream_route(runtime, caller, name) or await engine_route(runtime, caller, name)


async def engine_route(runtime: Runtime, caller: Caller, name: str) -> UpstreamRoute | None:
    """Where to forward a chat for a local model (a base model, or a fine-tuned model or
    checkpoint of the caller's project) that a served engine serves; None where ftgate's own
    engine does."""
    if not runtime.served_engines:
        return None
    async with runtime.sessions() as session:
        spec, target = await resolve(session, caller, runtime, name)
    engine = runtime.engines.served_for(spec)
    if engine is None:
        return None
    return UpstreamRoute(EngineChat(engine, target.adapter, name, fingerprint(target)), name)


@dataclass(frozen=True)
class Generation:
    """A request ready to run: the engine's inputs and what the response echoes."""

    id: str
    created: int
    model: str
    system_fingerprint: str
    target: Target
    prompt: list[int]
    sampling: Sampling
    include_usage: bool
    # Whether the model may call tools: its `<tool_call>` blocks are then read as calls.
    tools: bool = False


async def prepare(runtime: Runtime, caller: Caller, params: ChatCompletionParams) -> Generation:
    check_supported(params)
    # A short read of its own: the connection is not held while the model generates.
    async with runtime.sessions() as session:
        spec, target = await resolve(session, caller, runtime, params.model)
    if not local_extra.installed():
        raise local_extra.refusal(params.model)
    tools = [tool.model_dump(exclude_none=True) for tool in params.tools or []]
    try:
        prompt = await runtime.chat_engine.render(
            target, template_messages(params.messages), tools, spec.token_limit
        )
    except PromptTooLong as error:
        raise _context_exceeded(spec.token_limit, error.at_least, None, at_least=True) from None
    except PromptError as error:
        raise InvalidRequest(
            f"The model's chat template cannot render these messages: {error}", param="messages"
        ) from error
    return Generation(
        id=ids.new_chat_completion_id(),
        created=int(time.time()),
        model=params.model,
        system_fingerprint=fingerprint(target),
        target=target,
        prompt=prompt,
        sampling=sampling_for(params, spec.token_limit, len(prompt), runtime.settings.chat_max_seconds),
        include_usage=params.include_usage,
        tools=bool(tools) and params.tool_choice != "none",
    )


async def resolve(
    session: AsyncSession, caller: Caller, runtime: Runtime, name: str
) -> tuple[BaseModelSpec, Target]:
    """A local base model, the caller's fine-tuned model, or one of its checkpoints."""
    spec = resolve_base_model(runtime.catalog, name)
    if spec is not None:
        if not spec.runs_here:
            raise model_not_found(name)
        return spec, Target(spec.path)
    job = await jobs_repository.by_fine_tuned_model(session, caller.project_id, name)
    if job is not None:
        home = await home_of(runtime, session, job, name)
        base = home.base_model if home is not None else job.base_model
        return await _tuned(runtime, base, name, artifacts.model_name(job.id))
    found = await jobs_repository.checkpoint_by_model(session, caller.project_id, name)
    if found is not None:
        job, checkpoint = found
        return await _tuned(
            runtime, job.base_model, name, artifacts.checkpoint_name(job.id, checkpoint.step_number)
        )
    raise model_not_found(name)


async def _tuned(runtime: Runtime, base: str, name: str, adapter: str) -> tuple[BaseModelSpec, Target]:
    """The base model and the local copy of the adapter published as `adapter`."""
    spec = resolve_base_model(runtime.catalog, base)
    if spec is None or not spec.runs_here:
        raise model_not_found(name)
    folder = await anyio.to_thread.run_sync(runtime.folders.fetch, adapter)
    if folder is None or not (folder / ADAPTER_CONFIG).is_file():
        log.error("model %s has no adapter %s", name, adapter)
        raise ServerError(f"The weights of model `{name}` are missing on this server.")
    return spec, Target(spec.path, folder.resolve())


def check_supported(params: ChatCompletionParams) -> None:
    """Refuse, by name, what the local engine cannot do rather than ignore it silently."""
    if params.logprobs:
        raise _unsupported_value("logprobs", "true")
    if params.top_logprobs:
        raise _unsupported_parameter("top_logprobs")
    if params.response_format is not None and params.response_format.type != "text":
        raise _unsupported_value("response_format.type", f"'{params.response_format.type}'", "'text'")
    if params.modalities is not None and "audio" in params.modalities:
        raise _unsupported_value("modalities", "'audio'", "'text'")
    if params.logit_bias:
        raise _unsupported_parameter("logit_bias")
    if isinstance(params.tool_choice, dict) or params.tool_choice == "required":
        raise _unsupported_value("tool_choice", repr(params.tool_choice), "'auto' or 'none'")
    for index, message in enumerate(params.messages):
        for part_index, part in enumerate(message.content if isinstance(message.content, list) else []):
            if isinstance(part, MediaPart):
                where = f"messages[{index}].content[{part_index}].type"
                raise _unsupported_value(where, f"'{part.type}'", "'text'")


def _unsupported_value(param: str, value: str, only: str | None = None) -> InvalidRequest:
    message = f"Unsupported value: '{param}' does not support {value} with local models."
    if only is not None:
        message += f" Only {only} is supported."
    return InvalidRequest(message, param=param, code="unsupported_value")


def _unsupported_parameter(param: str) -> InvalidRequest:
    return InvalidRequest(
        f"Unsupported parameter: '{param}' is not supported with local models.",
        param=param,
        code="unsupported_parameter",
    )


def template_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Messages shaped exactly as the trainer renders its examples, so that a fine-tuned model
    is prompted like it was trained. Templates rarely know `developer`: it is the system
    prompt under its newer name."""
    rendered = examples.template_messages(
        [message.model_dump(include=TEMPLATE_KEYS, exclude_none=True) for message in messages]
    )
    for message in rendered:
        message.setdefault("content", "")
        if message["role"] == "developer":
            message["role"] = "system"
    return rendered


def sampling_for(
    params: ChatCompletionParams, context: int, prompt_tokens: int, time_limit: float
) -> Sampling:
    """All choices' tokens must fit the context together: `n` choices of `max_tokens` each are
    `n × max_tokens` tokens of work for the model, whoever waits behind it."""
    requested = params.max_new_tokens
    n = params.n or 1
    if prompt_tokens >= context or (requested is not None and prompt_tokens + n * requested > context):
        raise _context_exceeded(context, prompt_tokens, requested and n * requested)
    return Sampling(
        max_new_tokens=requested if requested is not None else max(1, (context - prompt_tokens) // n),
        temperature=params.temperature if params.temperature is not None else 1.0,
        top_p=params.top_p if params.top_p is not None else 1.0,
        n=n,
        stop=params.stop_sequences,
        seed=params.seed,
        time_limit=time_limit,
    )


def _context_exceeded(
    context: int, prompt_tokens: int, requested: int | None, *, at_least: bool = False
) -> InvalidRequest:
    if requested is None or prompt_tokens >= context:
        detail = (
            f"However, your messages resulted in {'at least ' if at_least else ''}{prompt_tokens} tokens. "
            "Please reduce the length of the messages."
        )
    else:
        detail = (
            f"However, you requested {prompt_tokens + requested} tokens ({prompt_tokens} in the messages, "
            f"{requested} in the completion). Please reduce the length of the messages or completion."
        )
    return InvalidRequest(
        f"This model's maximum context length is {context} tokens. {detail}",
        param="messages",
        code="context_length_exceeded",
    )


def fingerprint(target: Target) -> str:
    """Stable for one base model and adapter, as OpenAI's is for one backend configuration."""
    return "fp_" + hashlib.sha256(f"{target.base}|{target.adapter}".encode()).hexdigest()[:10]
