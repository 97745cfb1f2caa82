"""Text in documents that reads like instructions to an AI (prompt injection) is never used as evidence."""

from __future__ import annotations

import re

_INSTRUCTIONS = re.compile(
    r"\b(ignore|disregard|forget|override)\b[^.!?\n]{0,40}\b(instructions?|previous|above|prior|passages?|context|rules|prompt)\b"
    r"|\b(answer|respond|reply|output)\s+(only\s+)?with\s+(only\s+)?the\s+word\b"
    r"|\b(answer|respond|reply)\s+only\s+with\b"
    r"|\b(new|updated)\s+instructions\b|\bsystem\s+prompt\b|\byou\s+are\s+now\b",
    re.IGNORECASE,
)


def looks_like_instructions(text: str) -> bool:
    return bool(_INSTRUCTIONS.search(text))
