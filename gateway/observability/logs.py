"""Log lines as text, or as JSON objects (FTGATE_LOG_FORMAT=json) that carry the id of the request
being answered (`x-request-id`) or the Celery task being run, whichever the line was logged in."""

import logging
import sys
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = "%(levelname)s %(name)s: %(message)s"
JSON_FIELDS = ["asctime", "levelname", "name", "message", "request_id", "task_id", "task_name"]
# uvicorn's own loggers, which its default configuration keeps from reaching the root logger.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
QUIET_LOGGERS = ("alembic", "httpx")  # httpx logs every upstream request at INFO

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
task: ContextVar[tuple[str, str] | None] = ContextVar("task", default=None)


class ContextFilter(logging.Filter):
    """Puts the current request's id, and the current task's id and name, on every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.task_id, record.task_name = task.get() or (None, None)
        return True


def json_formatter() -> JsonFormatter:
    return JsonFormatter(JSON_FIELDS, rename_fields={"levelname": "level", "name": "logger"})


def configure(log_format: str, level: int | str = logging.INFO) -> None:
    """The root logger's one handler, on stderr; in JSON the server's loggers go through it too."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(json_formatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for chatty in QUIET_LOGGERS:
        logging.getLogger(chatty).setLevel(logging.WARNING)
    if log_format == "json":
        for name in SERVER_LOGGERS:
            server_logger = logging.getLogger(name)
            server_logger.handlers.clear()
            server_logger.propagate = True


def use_json_on(handlers: list[logging.Handler]) -> None:
    """Format what another library's handlers write (Celery's) as JSON with the ids."""
    for handler in handlers:
        handler.addFilter(ContextFilter())
        handler.setFormatter(json_formatter())
