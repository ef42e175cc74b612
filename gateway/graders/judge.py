"""The judge of score_model and label_model graders: a chat on the caller's project's behalf."""

from typing import Any

from gateway.chat.on_behalf import ChatFailed, ProjectChat
from graders import JudgeError, JudgeReply, JudgeRequest


class ChatJudge:
    def __init__(self, chat: ProjectChat) -> None:
        self.chat = chat

    async def complete(self, request: JudgeRequest) -> JudgeReply:
        try:
            reply = await self.chat.complete(_chat_body(request))
        except ChatFailed as failure:
            raise JudgeError(failure.message) from failure
        return JudgeReply(
            text=reply.text,
            model=reply.model,
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            refusal=reply.refusal,
        )


def _chat_body(request: JudgeRequest) -> dict[str, Any]:
    body: dict[str, Any] = {"model": request.model, "messages": request.messages}
    optional = {
        "temperature": request.temperature,
        "top_p": request.top_p,
        "seed": request.seed,
        "max_completion_tokens": request.max_tokens,
        "reasoning_effort": request.reasoning_effort,
        "response_format": request.response_format,
    }
    return body | {key: value for key, value in optional.items() if value is not None}
