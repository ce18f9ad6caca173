"""Server-assigned ids and the rules every id and name must follow."""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable, Sequence

from onehub.domain.errors import InvalidArgument

IdGenerator = Callable[[], str]

MAX_ID_LENGTH = 128
MAX_NAME_LENGTH = 256
# Batch gets and batch creates beyond this are refused rather than turned into huge queries.
MAX_BATCH_SIZE = 1000
# Bulk import (admin only) takes far larger batches: the original's load script sends 5,000+.
MAX_IMPORT_BATCH_SIZE = 50_000

# Letters and digits only: URL-safe, shell-safe and never mistaken for a CLI flag ("-x").
_ID_ALPHABET = string.ascii_letters + string.digits
_GENERATED_ID_LENGTH = 10  # 62**10 ~ 8e17 possibilities: collisions are not a practical concern


_ID_SPACE = len(_ID_ALPHABET) ** _GENERATED_ID_LENGTH
# The largest multiple of _ID_SPACE below 2**64: draws at or above it are redrawn (about 4% of
# them), so every id is equally likely.
_UNBIASED_LIMIT = (1 << 64) // _ID_SPACE * _ID_SPACE
# Characters that are never valid in an id when the id is ASCII (whitespace, controls, "/").
_BAD_ASCII_ID_CHAR = re.compile(r"[\x00-\x20\x7f/]")


def random_id() -> str:
    """Return a fresh random id from a cryptographic source, e.g. "k3J9xQ0aZp".

    One 64-bit draw written in base 62 (a bulk import makes one per message: drawing each
    character separately cost ten times as much).
    """
    draw = secrets.randbits(64)
    while draw >= _UNBIASED_LIMIT:
        draw = secrets.randbits(64)
    draw %= _ID_SPACE
    chars = []
    for _ in range(_GENERATED_ID_LENGTH):
        draw, digit = divmod(draw, 62)
        chars.append(_ID_ALPHABET[digit])
    return "".join(chars)


def validate_id(value: str, what: str) -> str:
    """Return `value` if it is a usable id, else raise InvalidArgument naming `what`.

    An id is 1..MAX_ID_LENGTH characters, none of them whitespace, a control character or "/"
    (ids appear as single path segments in the REST API). Any other Unicode is allowed.
    """
    if not value:
        raise InvalidArgument(f"{what} is required")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidArgument(f"{what} is longer than {MAX_ID_LENGTH} characters")
    if value.isascii():
        bad = _BAD_ASCII_ID_CHAR.search(value) is not None
    else:
        bad = "/" in value or any(ch.isspace() or not ch.isprintable() for ch in value)
    if bad:
        raise InvalidArgument(f"{what} must not contain '/', whitespace or control characters")
    return value


def validate_ids(values: Sequence[str], what: str) -> list[str]:
    """Validate a batch of ids (at most MAX_BATCH_SIZE); duplicates are kept once, in order."""
    if len(values) > MAX_BATCH_SIZE:
        raise InvalidArgument(f"at most {MAX_BATCH_SIZE} {what}s may be given at once")
    return list(dict.fromkeys(validate_id(value, what) for value in values))


def id_or_new(value: str, what: str, new_id: IdGenerator) -> str:
    """Return the validated client-chosen id, or a fresh one when `value` is empty."""
    return validate_id(value, what) if value else new_id()


def validate_name(value: str, what: str) -> str:
    """Return `value` if it is a non-blank name of at most MAX_NAME_LENGTH characters."""
    if not value.strip():
        raise InvalidArgument(f"{what} is required")
    if len(value) > MAX_NAME_LENGTH:
        raise InvalidArgument(f"{what} is longer than {MAX_NAME_LENGTH} characters")
    return value
