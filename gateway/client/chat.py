"""`ftgate chat MODEL [MESSAGE]`: a conversation with a model, each answer streamed as it is
generated. With MESSAGE, one answer and done; without, a line per turn until /exit or end of input."""

import argparse
import readline  # noqa: F401  (line editing and history for input())
from typing import Any

from gateway.client.http import ClientError, Gateway
from gateway.client.output import console, fail

EXIT_WORDS = {"/exit", "/quit"}


def chat(gateway: Gateway, args: argparse.Namespace) -> None:
    messages: list[dict[str, str]] = [{"role": "system", "content": args.system}] if args.system else []
    if args.message:
        answer(gateway, args, [*messages, {"role": "user", "content": args.message}])
        return
    if console.is_terminal:
        console.print(f"[dim]{args.model}: /exit or Ctrl-D ends the conversation[/]")
    while True:
        try:
            line = console.input("[bold cyan]you>[/] " if console.is_terminal else "").strip()
        except EOFError:
            console.out("")
            return
        if line in EXIT_WORDS:
            return
        if not line:
            continue
        turn = [*messages, {"role": "user", "content": line}]
        try:
            reply = answer(gateway, args, turn)
        except ClientError as exc:
            fail(str(exc))  # the turn is dropped; the conversation goes on
            continue
        messages = [*turn, {"role": "assistant", "content": reply}]


def answer(gateway: Gateway, args: argparse.Namespace, messages: list[dict[str, str]]) -> str:
    """Prints the answer as its pieces arrive and returns it whole."""
    body: dict[str, Any] = {"model": args.model, "messages": messages, "stream": True}
    if args.temperature is not None:
        body["temperature"] = args.temperature
    if args.max_tokens is not None:
        body["max_completion_tokens"] = args.max_tokens
    pieces: list[str] = []
    try:
        with gateway.stream("/chat/completions", body) as chunks:
            for chunk in chunks:
                for choice in chunk.get("choices", []):
                    if piece := (choice.get("delta") or {}).get("content"):
                        console.out(piece, end="", highlight=False)
                        pieces.append(piece)
    finally:
        if pieces:
            console.out("")
    return "".join(pieces)
