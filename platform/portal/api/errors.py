"""One error shape for the whole API: ``{"detail": str, "errors": {field: [str]}}``."""

import logging
import uuid

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portal.ratelimit import RateLimited

logger = logging.getLogger(__name__)


def _flatten(value):
    if isinstance(value, dict):
        return {key: _flatten(item) for key, item in value.items()}
    if isinstance(value, list):
        if all(not isinstance(item, (dict, list)) for item in value):
            return [str(item) for item in value]
        return [_flatten(item) for item in value]
    return [str(value)]


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Someone made a conflicting change at the same moment; reload and try again."
    default_code = "conflict"


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RateLimited):
        exc = exceptions.Throttled(wait=exc.retry_after, detail="Too many attempts.")
    elif isinstance(exc, IntegrityError):
        # Services check uniqueness and name the field; a concurrent request can still slip in
        # between their check and the insert. The database's constraint then decides: a conflict.
        logger.info("Concurrent write refused by a constraint: %s", exc)
        exc = Conflict()
    response = drf_exception_handler(exc, context)
    if response is None:
        reference = uuid.uuid4().hex[:12]
        logger.exception("Unhandled API error (reference %s)", reference)
        return Response(
            {"detail": f"Something went wrong on our side (reference {reference}).", "errors": {}},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        first = next(iter(errors.values()), None)
        message = "Invalid input."
        if isinstance(first, list) and first and not isinstance(first[0], (dict, list)):
            field = next(iter(errors))
            message = f"Invalid input: {str(first[0])}" if field == "non_field_errors" else f"Invalid input for '{field}': {first[0]}"
        response.data = {"detail": message, "errors": _flatten(errors)}
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        response.data = {"detail": str(detail), "errors": {}}
    return response

