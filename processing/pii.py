"""PII redaction: e-mail addresses, phone numbers, IP addresses, credit-card numbers and IBANs are
replaced by typed placeholders ([EMAIL], [PHONE], [IP], [CREDIT_CARD], [IBAN]).

Patterns are deliberately narrow so that ordinary numbers (years, prices, versions, dates, ids)
stay: card numbers must pass the Luhn check, IBANs the ISO 13616 mod-97 check, IPs must be valid
addresses, and phone numbers need an international "+" prefix or the (NNN) NNN-NNNN shape.
Kinds are redacted in a fixed order (e-mail first, since addresses contain digits and dots;
IBAN and card before phone, since their digit groups could look like phone numbers).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

PLACEHOLDERS = {
    "email": "[EMAIL]",
    "iban": "[IBAN]",
    "credit_card": "[CREDIT_CARD]",
    "ip": "[IP]",
    "phone": "[PHONE]",
}

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}\b")
# Country code, check digits, then 11-30 alphanumerics, optionally in groups of four.
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
# 13-19 digits, optionally grouped by single spaces or dashes.
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]*\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:|::)(?:[0-9A-Fa-f]{0,4}:){0,6}[0-9A-Fa-f]{0,4}(?![\w:])")
_PHONE_INTL = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){1,6}(?![\w])")
_PHONE_NANP = re.compile(r"(?<!\w)\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}(?!\w)")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum every payment card number carries."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to numbers, mod 97 == 1."""
    compact = candidate.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


def _is_card(match: str) -> bool:
    digits = re.sub(r"\D", "", match)
    return 13 <= len(digits) <= 19 and len(set(digits)) > 1 and luhn_valid(digits)


def _is_ip(match: str) -> bool:
    # Loopback and "any" addresses (127.0.0.1, ::1, 0.0.0.0) name no one: documentation is full of them.
    try:
        address = ipaddress.ip_address(match)
    except ValueError:
        return False
    return not (address.is_loopback or address.is_unspecified)


def _is_ipv6(match: str) -> bool:
    # At least one digit: "a::b" (C++ scopes, Haskell) parses as IPv6 but is code, not an address.
    return match.count(":") >= 2 and any(c.isdigit() for c in match) and _is_ip(match)


def _is_phone(match: str) -> bool:
    return 8 <= sum(c.isdigit() for c in match) <= 15


# (kind, pattern, validator, a cheap search that every match also satisfies: a text it does not find
# skips the pattern, whose lookarounds make a full scan cost far more than this one)
_RULES: tuple[tuple[str, re.Pattern, Callable[[str], bool] | None, re.Pattern], ...] = (
    ("email", _EMAIL, None, re.compile("@")),
    ("iban", _IBAN, iban_valid, re.compile(r"[A-Z]{2}\d{2}")),
    ("credit_card", _CARD, _is_card, re.compile(r"\d(?:[ -]?\d){12}")),
    ("ip", _IPV4, _is_ip, re.compile(r"\d\.\d{1,3}\.\d{1,3}\.\d")),
    # A valid IPv6 match has at least two colons with at most four hex digits between two of them.
    ("ip", _IPV6, _is_ipv6, re.compile(r":[0-9A-Fa-f]{0,4}:")),
    ("phone", _PHONE_INTL, _is_phone, re.compile(r"\+\d")),
    ("phone", _PHONE_NANP, _is_phone, re.compile(r"\(\d{3}\)")),
)


def redact_pii(text: str) -> tuple[str, dict[str, int]]:
    """Replace every PII match by its placeholder; returns the text and counts per kind found."""
    counts: dict[str, int] = {}
    for kind, pattern, valid, needed in _RULES:
        if not needed.search(text):
            continue
        placeholder = PLACEHOLDERS[kind]

        def replace(m: re.Match, kind=kind, valid=valid, placeholder=placeholder) -> str:
            if valid is not None and not valid(m.group(0)):
                return m.group(0)
            counts[kind] = counts.get(kind, 0) + 1
            return placeholder

        text = pattern.sub(replace, text)
    return text, counts
