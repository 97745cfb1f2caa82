"""Text from documents that could mislead: instructions to an AI (never used as evidence), and bidi controls (never shown as they are)."""

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


# Embedding and override controls reorder what follows them on screen: a quoted "‮txt.exe" shows as
# "exe.txt". Isolates (U+2066-2069) leak the same way when left unclosed.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def without_bidi_controls(text: str) -> str:
    """An answer's words as the documents have them, minus the characters that would reorder their display."""
    return BIDI_CONTROLS.sub("", text)


def visible_bidi_controls(text: str) -> str:
    """For a terminal: each control shown as its code point, so an exact quote stays exact but cannot reorder the line."""
    return BIDI_CONTROLS.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)
