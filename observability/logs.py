"""Structured logs: one JSON object a line (PLATFORM_LOG_FORMAT=json, production's default) or plain text
(`make run`), each carrying the request id of the portal request it belongs to, in the portal, in the
Celery tasks that request queued and in the hub's log of the calls it made (the X-Request-ID header)."""

import contextvars
import json
import logging
import re
import uuid
from datetime import UTC, datetime

_request_id = contextvars.ContextVar("dsw_request_id", default="")
# What a client or a proxy may hand us as a request id: short and plain, so it is safe in logs and headers.
_ACCEPTED = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
HEADER = "X-Request-ID"


def request_id():
    """The current request's (or task's) id; "" outside one."""
    return _request_id.get()


def request_id_from(value):
    """The id to use for an incoming request: the caller's own when it is sane (a proxy's, to join logs),
    else a new one."""
    return value if isinstance(value, str) and _ACCEPTED.match(value) else uuid.uuid4().hex


def request_id_set(value):
    """Set the id for what runs next in this context; returns a token for `request_id_reset`."""
    return _request_id.set(value or "")


def request_id_reset(token):
    _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (`%(request_id)s` in plain text)."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = request_id() or "-"
        return True


# Attributes every LogRecord has; anything else was passed in `extra=` and goes into the JSON object.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id, and the record's `extra` fields."""

    def format(self, record):
        line = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        rid = getattr(record, "request_id", "") or request_id()
        if rid and rid != "-":
            line["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)
