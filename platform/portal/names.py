"""Names people give things (teams, profiles): one spelling per name."""

import unicodedata

from django.core.exceptions import ValidationError

# Control, format (zero-width joiners, direction marks), surrogate, private-use and unassigned
# characters: invisible or ambiguous, they would let two different names look the same.
_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn"}


def name_clean(value, *, field, max_length):
    """The stored form of a name: NFKC-normalised and stripped, so ``Ｒｅｓｅａｒｃｈ`` (full-width)
    and ``Research`` are one name; compare stored names case-insensitively (``__iexact``).

    Raises ValidationError on ``field`` for invisible characters and for names longer than
    ``max_length`` once normalised (one character can expand to many)."""
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if any(unicodedata.category(character) in _HIDDEN for character in text):
        raise ValidationError({field: "Use visible characters only (no control or zero-width characters)."})
    if len(text) > max_length:
        raise ValidationError({field: f"At most {max_length} characters."})
    return text
