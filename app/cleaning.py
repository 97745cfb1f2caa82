"""Normalising what text extraction broke, while remembering where every character came from.

The cleaned text is what gets split and embedded; `CleanText.span` maps any range of it back to
the exact `[start, end)` of the original text, which is what citations point at.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

# A piece of a line: its text and the original offset of its first character (-1: inserted by us).
Piece = tuple[str, int]
Line = list[Piece]

# A footer glued to the last line of a page, which often ends mid-word: "including the e17 | P a g e".
GLUED_FOOTER = re.compile(r"(\d+\s*\|\s*P\s?a\s?g\s?e)$")
PAGE_FOOTER = re.compile(r"^(\d+\s*\|\s*P\s?a\s?g\s?e|page\s+\d+(\s+of\s+\d+)?|-\s*\d+\s*-)$", re.IGNORECASE)
REPORT_CODE = re.compile(r"^[A-Z][A-Z0-9.\-]*(/[A-Z0-9.\-]+){2,}$")
LIST_NUMBER = re.compile(r"^(\d{1,2})[.)]$")
NUMBERED_ITEM = re.compile(r"^\d{1,2}[.)]\s+\S")
DATE_LINE = re.compile(
    r"^\d{1,2}\s+(January|February|March|April|May|June|July|August|September|October|November|December)\s+\d{4}$"
)
SENTENCE_END = (".", "!", "?", ":", ";", '"', "”", "’", ")")


@dataclass
class CleanText:
    text: str
    origin: np.ndarray  # origin[i]: offset in the original text of clean character i, or -1

    def span(self, start: int, end: int) -> tuple[int, int] | None:
        """The original [start, end) covering the non-space characters of clean[start:end]."""
        seg = self.origin[start:end]
        mask = (seg >= 0) & ~self._space[start:end]
        if not mask.any():
            return None
        kept = seg[mask]
        return int(kept.min()), int(kept.max()) + 1

    def __post_init__(self):
        self._space = np.fromiter((c.isspace() for c in self.text), dtype=bool, count=len(self.text))


def _text(line: Line) -> str:
    return "".join(t for t, _ in line)


def clean(original: str) -> CleanText:
    lines: list[Line] = []
    pos = 0
    for raw in original.split("\n"):
        # A byte-order mark is part of the original text (offsets count it) but never of a line's words.
        body = raw.lstrip("\ufeff")
        stripped = body.strip()
        lines.append([(stripped, pos + len(raw) - len(body) + body.index(stripped[0]))] if stripped else [])
        pos += len(raw) + 1
    lines = _drop_page_furniture(lines)
    lines = _join_hyphenated(lines)
    lines = _rejoin_split_lists(lines)

    chars: list[str] = []
    origin: list[int] = []
    for i, line in enumerate(lines):
        if i:
            chars.append("\n")
            origin.append(-1)
        for text, start in line:
            chars.append(text)
            origin.extend(range(start, start + len(text)) if start >= 0 else [-1] * len(text))
    return CleanText("".join(chars), np.asarray(origin, dtype=np.int64))


def _drop_page_furniture(lines: list[Line]) -> list[Line]:
    """Remove page footers and headers repeated on every page; join what a page break split."""
    glued = set()
    for i, line in enumerate(lines):
        t = _text(line)
        # A footer ends the line: search its tail only (on a line of 600k digits `\d+` backtracked quadratically).
        m = GLUED_FOOTER.search(t, max(0, len(t) - 64))
        if m and m.start() > 0 and not t[: m.start()].endswith(" "):
            text, start = line[0]
            lines[i] = [(text[: m.start()], start)]
            glued.add(i)
    texts = [_text(l) for l in lines]
    repeats = Counter(t for t in texts if t)

    def furniture(t: str) -> bool:
        return bool(t) and bool(
            PAGE_FOOTER.match(t) or REPORT_CODE.match(t) or (repeats[t] >= 3 and 8 <= len(t) <= 80 and not LIST_NUMBER.match(t))
        )

    out: list[Line] = []
    i = 0
    join_next = False
    while i < len(lines):
        if join_next and texts[i]:
            # The page broke a word: "e" + "commerce" -> "e-commerce", "commu" + "nication" -> "communication".
            fragment = re.search(r"([A-Za-z]+)$", _text(out[-1])[-64:])  # the tail only: a search of a long word backtracks quadratically
            joint = [("-", -1)] if fragment and len(fragment.group(1)) <= 2 else []
            out[-1] = out[-1] + joint + lines[i]
            join_next = i in glued
            i += 1
            continue
        if not furniture(texts[i]):
            out.append(lines[i])
            join_next = i in glued
            i += 1
            continue
        # A run of furniture and blank lines: drop it, trailing blanks already emitted included.
        while out and not out[-1]:
            out.pop()
        while i < len(lines) and (not texts[i] or furniture(texts[i])):
            i += 1
        before = _text(out[-1]) if out else ""
        after = texts[i] if i < len(lines) else ""
        # Keep a paragraph break only where a sentence ended and a new one starts.
        if before.endswith(SENTENCE_END) and after[:1].isupper() and not NUMBERED_ITEM.match(after):
            out.append([])
    return out


def _join_hyphenated(lines: list[Line]) -> list[Line]:
    """`commu-` + `nication` -> `communication`; `e-` + `commerce` keeps its hyphen."""
    out: list[Line] = []
    for line in lines:
        prev = _text(out[-1]) if out else ""
        cur = _text(line)
        m = re.search(r"([A-Za-z]+)-$", prev[-64:])  # the tail only, as above
        if m and cur[:1].islower():
            joined = list(out[-1])
            if len(m.group(1)) > 2:
                text, start = joined[-1]
                joined[-1] = (text[:-1], start)
            out[-1] = joined + line
        else:
            out.append(line)
    return out


def _rejoin_split_lists(lines: list[Line]) -> list[Line]:
    """Put list numbers that extraction split off (`1.\\n2.\\n...\\nfirst item\\n...`) back on their items."""
    out = list(lines)
    i = 0
    while i < len(out):
        first = LIST_NUMBER.match(_text(out[i]))
        if not first:
            i += 1
            continue
        numbers, j, expected = [], i, int(first.group(1))
        while j < len(out):
            t = _text(out[j])
            m = LIST_NUMBER.match(t)
            if m and int(m.group(1)) == expected:
                numbers.append(j)
                expected += 1
            elif t:
                break
            j += 1
        candidates, k = [], j
        while k < len(out) and len(candidates) < 4 * len(numbers):
            t = _text(out[k])
            if not t or DATE_LINE.match(t) or NUMBERED_ITEM.match(t) or LIST_NUMBER.match(t):
                break
            candidates.append(out[k])
            k += 1
        if len(numbers) < 2 or len(candidates) < len(numbers):
            i = j if j > i else i + 1
            continue
        items = _group_wrapped(candidates, len(numbers))
        rebuilt = [out[n] + [(" ", -1)] + item for n, item in zip(numbers, items)]
        out[i:k] = rebuilt
        i += len(rebuilt)
    return out


def _group_wrapped(candidates: list[Line], n: int) -> list[Line]:
    """Merge wrapped lines so that `n` items remain, joining the likeliest continuations first."""
    texts = [_text(l) for l in candidates]

    def continuation(b: int) -> int:
        prev, cur = texts[b - 1], texts[b]
        return 2 * cur[:1].islower() + (not prev.endswith(SENTENCE_END + (",",))) + (len(prev) >= 70) + cur.startswith("(")

    merges = sorted(range(1, len(texts)), key=lambda b: (-continuation(b), b))[: len(texts) - n]
    items: list[Line] = []
    for b, line in enumerate(candidates):
        if b in merges:
            items[-1] = items[-1] + [(" ", -1)] + line
        else:
            items.append(list(line))
    return items
