"""PII placeholders for each kind; ordinary numbers stay."""

from __future__ import annotations

import pytest

from corpusforge.processing.pii import iban_valid, luhn_valid, redact_pii


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("Write to jane.doe@example.com today.", "Write to [EMAIL] today.", "email"),
        ("Call +49 30 1234567 now.", "Call [PHONE] now.", "phone"),
        ("Call +1 202 555 0143 or", "Call [PHONE] or", "phone"),
        ("Call (202) 555-0143 now.", "Call [PHONE] now.", "phone"),
        ("Server 192.0.2.17 is down.", "Server [IP] is down.", "ip"),
        ("Server 2001:db8::8a2e:370:7334 is down.", "Server [IP] is down.", "ip"),
        ("Pay with 4111 1111 1111 1111 (expiry 12/30).", "Pay with [CREDIT_CARD] (expiry 12/30).", "credit_card"),
        ("Card 5555-5555-5555-4444.", "Card [CREDIT_CARD].", "credit_card"),
        ("IBAN DE89 3704 0044 0532 0130 00 please.", "IBAN [IBAN] please.", "iban"),
        ("IBAN GB82 WEST 1234 5698 7654 32.", "IBAN [IBAN].", "iban"),
    ],
)
def test_each_kind_is_replaced_by_its_placeholder(text, expected, kind):
    redacted, counts = redact_pii(text)
    assert redacted == expected
    assert counts == {kind: 1}


def test_the_sample_sites_pii_paragraph():
    text = (
        "If you have questions about this article, write to Jane Doe at jane.doe@example.com or call "
        "+44 20 7946 0958 during office hours. The examples were tested on our staging server at "
        "203.0.113.42, which only staff can reach. To order the printed edition, pay with the card "
        "5555 5555 5555 4444 (expiry 12/30) or transfer the amount to the account with IBAN "
        "GB82 WEST 1234 5698 7654 32."
    )
    redacted, counts = redact_pii(text)
    assert counts == {"email": 1, "phone": 1, "ip": 1, "credit_card": 1, "iban": 1}
    for placeholder in ("[EMAIL]", "[PHONE]", "[IP]", "[CREDIT_CARD]", "[IBAN]"):
        assert placeholder in redacted


def test_ordinary_numbers_are_left_alone():
    text = (
        "In 2024 we sold 1,234,567 units at $19.99 each; Python 3.11.2 came out on 2023-02-08 at 12:30:45. "
        "Order 4111 1111 1111 1112 failed the checksum, ISBN 978-3-16-148410-0, page 123-456, "
        "version 1.2.3.4.5, the address 300.1.1.1, localhost 127.0.0.1 and ::1, C++ a::b, "
        "phone extension 12345, account DE00 1234 5678 9012 3456 78 and 42 answers."
    )
    assert redact_pii(text) == (text, {})


def test_checksums():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("DE89 3704 0044 0532 0130 00") and not iban_valid("DE00 3704 0044 0532 0130 00")
