"""Read answers serialised once: a route that builds its wire model returns it through `shown`,
so FastAPI neither validates it again nor serialises it through an intermediate dict (the
route's `response_model` still documents the shape)."""

from fastapi import Response
from pydantic import BaseModel


def wire_json(model: BaseModel) -> bytes:
    return model.__pydantic_serializer__.to_json(model)


def shown(model: BaseModel) -> Response:
    return Response(wire_json(model), media_type="application/json")
