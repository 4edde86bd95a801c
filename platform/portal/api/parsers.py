"""The API's JSON parser: DRF's, plus the checks that keep hostile bodies from reaching a 500."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Far deeper than any document the API takes (Trivy reports and SBOMs nest less than 20 levels),
# far shallower than what exhausts Python's parser or PostgreSQL's jsonb.
MAX_DEPTH = 64


def _text_check(text):
    if "\x00" in text:
        raise ParseError("JSON strings may not contain NUL characters (\\u0000).")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ParseError("JSON strings may not contain unpaired surrogates (\\ud800-\\udfff).") from None


def json_document_check(data):
    """Raise ParseError for nesting deeper than MAX_DEPTH and for strings no database stores.

    Iterative, so a deep document cannot exhaust the stack here either."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.")
            if isinstance(value, dict):
                for key in value:
                    _text_check(key)
                items = value.values()
            else:
                items = value
            pending.extend((item, depth + 1) for item in items)
        elif isinstance(value, str):
            _text_check(value)


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.") from None
        json_document_check(data)
        return data
