"""The log configuration of `marac serve` (uvicorn) and `marac worker` (arq).

An exception's message can carry what a user sent ("invalid literal for int() with base 10:
'...'", a value a constraint refused), so no log line shows one: a traceback keeps its
exception types and the file, line and function of each frame, and an exception passed as a
log argument (arq's "job failed, ValueError: ...") is logged as its type. See
tests/test_logs.py.

In production each line is one JSON object (`Json`): time, level, logger, message and, for the
request line the web middleware writes at the end of each request, its request id, method, route
template, status, duration and user id. A record's request id comes from the request being
answered, so every line a request causes can be found from the X-Request-Id its answer carried.
"""

from __future__ import annotations

import json
import logging
import traceback
from datetime import UTC, datetime
from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class WithoutValues(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record = logging.makeLogRecord(record.__dict__)  # other handlers keep the original
        if isinstance(record.args, tuple):
            record.args = tuple(_name(a) if isinstance(a, BaseException) else a for a in record.args)
        elif isinstance(record.args, BaseException):
            record.args = _name(record.args)
        record.exc_text = None  # never a text cached by a formatter that kept the message
        return super().format(record)

    def formatException(self, ei: Any) -> str:
        _, value, tb = ei
        if value is None:
            return ""
        return "".join(_chain(traceback.TracebackException(type(value), value, tb))).rstrip("\n")


# What the request line carries besides the message (marac.web.middleware); ids and templates only.
REQUEST_FIELDS = ("request_id", "method", "route", "status", "duration_ms", "user_id")


class Json(WithoutValues):
    def format(self, record: logging.LogRecord) -> str:
        from marac.audit.service import request_id_var

        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": super().format(record).split("\n", 1)[0],  # the traceback goes in "exception"
        }
        request_id = getattr(record, "request_id", None) or request_id_var.get()
        if request_id:
            line["request_id"] = request_id
        for name in REQUEST_FIELDS[1:]:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)

    def formatMessage(self, record: logging.LogRecord) -> str:
        return record.getMessage()


def _name(exc: BaseException) -> str:
    return _type_name(type(exc))


def _type_name(kind: type) -> str:
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def _chain(found: traceback.TracebackException) -> list[str]:
    """Python's own traceback layout, with each exception's message left out."""
    lines: list[str] = []
    if found.__cause__ is not None:
        lines += [*_chain(found.__cause__), CAUSE]
    elif found.__context__ is not None and not found.__suppress_context__:
        lines += [*_chain(found.__context__), CONTEXT]
    kind = found.exc_type
    name = "?" if kind is None else _type_name(kind)
    lines += ["Traceback (most recent call last):\n", *found.stack.format(), f"{name} (message not logged)\n"]
    return lines


def config(level: str = "INFO", log_format: str | None = None) -> dict[str, Any]:
    """A logging.config.dictConfig() value: every logger through one handler on stderr, in
    MARAC_LOG_FORMAT (json in production, text otherwise) unless log_format says."""
    if log_format is None:
        from marac import settings

        log_format = settings.get().log_format
    formatter = {"()": Json} if log_format == "json" else {"()": WithoutValues, "format": FORMAT}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level},
        # uvicorn's and arq's own handlers would format with their formatters: theirs go to root.
        "loggers": {
            name: {"handlers": [], "propagate": True, "level": level}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "arq")
        },
    }
