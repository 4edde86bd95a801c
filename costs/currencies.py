"""ISO 4217 codes the platform bills in, with the digits of their minor unit. Pure."""

import re
from decimal import Decimal

# Currencies in current use (ISO 4217); the value is how many decimal digits the minor unit has.
MINOR_DIGITS = {
    "AED": 2, "ARS": 2, "AUD": 2, "BGN": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0, "CNY": 2,
    "COP": 2, "CZK": 2, "DKK": 2, "EGP": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2, "IDR": 2, "ILS": 2,
    "INR": 2, "ISK": 0, "JOD": 3, "JPY": 0, "KES": 2, "KRW": 0, "KWD": 3, "MAD": 2, "MXN": 2, "MYR": 2,
    "NGN": 2, "NOK": 2, "NZD": 2, "OMR": 3, "PEN": 2, "PHP": 2, "PKR": 2, "PLN": 2, "QAR": 2, "RON": 2,
    "RSD": 2, "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2, "TND": 3, "TRY": 2, "TWD": 2, "UAH": 2, "USD": 2,
    "VND": 0, "ZAR": 2,
}


def validate_currency(code):
    """Returns the upper-cased code, or raises ValueError with a message for people."""
    code = (code or "").strip().upper()
    if code not in MINOR_DIGITS:
        raise ValueError(f"{code or '(empty)'!r} is not a known ISO 4217 currency code (e.g. EUR, USD, CHF).")
    return code


def format_money(minor, currency):
    """12345, "EUR" -> "123.45 EUR"; amounts are integers of the minor unit."""
    digits = MINOR_DIGITS.get(currency, 2)
    value = Decimal(int(minor)).scaleb(-digits)
    return f"{value:,.{digits}f} {currency}"


def minor_to_major(minor, currency):
    return Decimal(int(minor)).scaleb(-MINOR_DIGITS.get(currency, 2))


def format_amount(minor, currency):
    """12345, "EUR" -> "123.45" (no code): what a form shows for people to edit."""
    digits = MINOR_DIGITS.get(currency, 2)
    return f"{Decimal(int(minor)).scaleb(-digits):,.{digits}f}"


# 1250 · 1250.5 · 1,250.50 · 1250.50 EUR: commas only as thousands separators (in groups of three),
# a point for the decimals. A comma as the decimal mark ("12,50") is refused rather than guessed at:
# read as a separator it would be 1250, a hundred times what was meant.
_AMOUNT = re.compile(r"(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<fraction>\d+))?")


def parse_money(text, currency):
    """A person's amount in currency units ("1,250.50", "1250.5 EUR") -> minor units (125050).

    Raises ValueError with a message for people: a negative amount, more decimals than the currency
    has (JPY has none), or a code that is not the platform's currency."""
    digits = MINOR_DIGITS.get(currency, 2)
    value = str(text).strip()
    number, _, code = value.partition(" ")
    code = code.strip()
    if code and code.upper() != currency:
        raise ValueError(f"Amounts are in {currency}, not {code}.")
    example = f"{Decimal('1250.50'):,.{digits}f}"
    match = _AMOUNT.fullmatch(number.strip())
    if not match:
        raise ValueError(f"Give an amount in {currency}, e.g. {example}.")
    fraction = match["fraction"] or ""
    if len(fraction) > digits:
        raise ValueError(f"{currency} has {digits or 'no'} decimal{'' if digits == 1 else 's'}: "
                         f"give at most {digits} after the point, e.g. {example}." if digits
                         else f"{currency} has no decimals: give a whole amount, e.g. {example}.")
    return int(match["whole"].replace(",", "")) * 10**digits + int(fraction.ljust(digits, "0") or 0)
