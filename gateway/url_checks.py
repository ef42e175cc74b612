"""Checks that apply to every request's URL before any route sees it."""

from fastapi import Request

from gateway.errors import InvalidRequest


async def reject_nul(request: Request) -> None:
    """No id, cursor or filter holds a NUL; PostgreSQL would refuse one at the database."""
    if "\x00" in request.url.path or any(
        "\x00" in key + value for key, value in request.query_params.multi_items()
    ):
        raise InvalidRequest("The request URL must not contain NUL characters.")
