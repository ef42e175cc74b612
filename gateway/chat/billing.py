"""A chat's usage, once known, billed to the caller's project and key and paid to its tokens per
minute; a chat whose budget is already spent does not start."""

from gateway.budgets import ledger
from gateway.chat import service
from gateway.chat.metering import UsageHook
from gateway.observability.metrics import count_chat_tokens
from gateway.projects import Caller
from gateway.ratelimit.admission import ChatTokensDebit
from gateway.runtime import Runtime


async def open_meter(runtime: Runtime, caller: Caller, model: str, debit: ChatTokensDebit) -> UsageHook:
    async with runtime.transaction() as session:
        await ledger.require_chat_budget(session, caller)
    spec = await service.priced_base_model(runtime, caller, model)

    async def on_usage(prompt_tokens: int, completion_tokens: int) -> None:
        await debit(prompt_tokens + completion_tokens)
        count_chat_tokens(spec.provider if spec is not None else "unknown", prompt_tokens, completion_tokens)
        if spec is not None:
            async with runtime.transaction() as session:
                ledger.record_chat(session, caller, model, spec, prompt_tokens, completion_tokens)

    return on_usage
