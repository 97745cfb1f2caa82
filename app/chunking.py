"""Splitting a cleaned document into sections, sentences and list items, then into chunks.

A chunk never crosses a section heading, never cuts a sentence, and never separates a list
from the sentence that introduces it. Sizes are counted in tokens.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import tokens
from .cleaning import DATE_LINE, SENTENCE_END, CleanText

# Bump when cleaning or chunking changes what chunks come out: indexes built before are then stale.
PIPELINE_VERSION = 3
# A sentence or list item longer than this is split (at a space if there is one): a line without
# any sentence end, or without any whitespace at all, would otherwise be one "sentence" of megabytes.
MAX_UNIT_CHARS = 2000

MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")
ITEM = re.compile(r"^(\d{1,2}[.)]|[a-z][.)]|\(\d{1,2}\)|\([a-z]\)|[-•*▪◦])\s+\S")
STOPWORDS = frozenset(
    "a an the and or of for to in on at by with from as is are was were be been its it this that these those "
    "into over under between about than via not no nor but so".split()
)
CONNECTORS = STOPWORDS | {"-", "–", "&", ":"}
ABBREVIATIONS = frozenset(
    "mr. ms. mrs. dr. prof. h.e. e.g. i.e. etc. vs. no. st. u.s. u.k. inc. ltd. co. jr. art. fig. para. approx.".split()
)
HEADING_NEVER_ENDS = (".", ",", ":", ";", "!", '"', "”")
SENTENCE_BOUNDARY = re.compile(r"[.!?][\"”’)\]]*(?=\s+[\"“‘(\[]?[A-Z0-9])")


@dataclass
class Unit:
    """A sentence or a list item: the smallest piece of text a chunk or an answer is made of."""

    kind: str  # "sentence" or "item"
    start: int  # offsets in the clean text
    end: int
    section: str
    intro: bool = False  # the sentence introduces the list that follows


@dataclass
class Chunk:
    section: str
    start: int  # offsets in the original text
    end: int
    text: str  # original[start:end]
    index_text: str  # what is searched: section heading, list context, clean text
    # (start, end, clean text, kind): kind is "sentence", "intro" (introduces a list) or "item"
    sentences: list[tuple[int, int, str, str]] = field(default_factory=list)
    heading: str = ""  # the section heading and list context of index_text, embedded with the sentences (ingest.chunk_vectors)


def _words(text: str) -> list[str]:
    return re.findall(r"[A-Za-z][\w'’-]*", text)


def _title_ratio(text: str) -> float:
    content = [w for w in _words(text) if w.lower() not in STOPWORDS]
    return sum(w[0].isupper() for w in content) / len(content) if content else 0.0


def _heading(lines: list[str], i: int, after_break: bool) -> tuple[int, int, str] | None:
    """(level, number of lines, title) if a heading starts at line i, else None.

    Extracted PDFs lose their typography, so a heading is recognised by its shape: a short,
    title-cased line with no closing punctuation, standing after a paragraph break or after a
    finished sentence, and not continued by a lower-case line.
    """
    line = lines[i]
    m = MD_HEADING.match(line)
    if m and after_break:
        return len(m.group(1)), 1, m.group(2)
    if DATE_LINE.match(line):
        return 1, 1, line
    previous = lines[i - 1] if i else ""
    if not (after_break or previous.endswith(SENTENCE_END)):
        return None
    if not line or line[0].islower() or line[0] in "\"“‘'(" or ITEM.match(line) or line.endswith(HEADING_NEVER_ENDS):
        return None
    if not 0 < len(_words(line)) <= 20 or line.count(",") > 1:
        return None
    n = 1
    while i + n < len(lines) and n < 3:
        last, nxt = lines[i + n - 1], lines[i + n]
        ends_open = len(last) < 80 and _words(last)[-1:] != [] and _words(last)[-1].lower() in CONNECTORS
        titled_next = len(nxt) < 60 and _title_ratio(nxt) >= 0.75 and not nxt.endswith(SENTENCE_END + (",",))
        if nxt and nxt != last and (ends_open or titled_next) and not ITEM.match(nxt):
            n += 1
        else:
            break
    title = " ".join(lines[i : i + n])
    following = (lines[i + n] if i + n < len(lines) else "").split(" ")[0]
    wraps_on = following[:1].islower() and following.isalpha() and following.islower()
    if wraps_on or len(title) < 3 or (n == 1 and len(line) > 86) or len(_words(title)) > 25:
        return None
    if _title_ratio(title) < (0.25 if after_break else 0.6):
        return None
    return 2, n, title


def units(clean: CleanText) -> list[Unit]:
    text = clean.text
    lines = text.split("\n")
    offsets, pos = [], 0
    for line in lines:
        offsets.append(pos)
        pos += len(line) + 1

    out: list[Unit] = []
    path: dict[int, str] = {}
    section = ""
    i, after_break = 0, True
    para_start = None

    def flush_paragraph(end_line: int) -> None:
        nonlocal para_start
        if para_start is not None:
            out.extend(_sentences(text, offsets[para_start], offsets[end_line - 1] + len(lines[end_line - 1]), section))
            para_start = None

    while i < len(lines):
        line = lines[i]
        head = _heading(lines, i, after_break)
        if head:
            flush_paragraph(i)
            level, n, title = head
            path = {lvl: t for lvl, t in path.items() if lvl < level}
            path[level] = " ".join(title.split())
            section = " › ".join(path[lvl] for lvl in sorted(path))
            i += n
            after_break = True
            continue
        if not line:
            flush_paragraph(i)
            after_break = True
            i += 1
            continue
        if ITEM.match(line):
            flush_paragraph(i)
            j = i + 1
            # An item goes on over wrapped lines until it ends a sentence and a new one begins.
            while (
                j < len(lines)
                and lines[j]
                and not ITEM.match(lines[j])
                and not DATE_LINE.match(lines[j])
                and (lines[j][0].islower() or not lines[j - 1].endswith(SENTENCE_END))
            ):
                j += 1
            if out and out[-1].kind == "sentence" and out[-1].section == section:
                out[-1].intro = True
            out.append(Unit("item", offsets[i], offsets[j - 1] + len(lines[j - 1]), section))
            i = j
            after_break = bool(j < len(lines) and DATE_LINE.match(lines[j]))
            continue
        if para_start is None:
            para_start = i
        after_break = False
        i += 1
    flush_paragraph(len(lines))
    return [piece for u in out for piece in _split_long(text, u)]


def _split_long(text: str, u: Unit) -> list[Unit]:
    if u.end - u.start <= MAX_UNIT_CHARS:
        return [u]
    pieces, a = [], u.start
    while u.end - a > MAX_UNIT_CHARS:
        cut = text.rfind(" ", a + MAX_UNIT_CHARS // 2, a + MAX_UNIT_CHARS)
        b = cut if cut > a else a + MAX_UNIT_CHARS
        pieces.append(Unit(u.kind, a, b, u.section))
        a = b + (text[b : b + 1].isspace())
    pieces.append(Unit(u.kind, a, u.end, u.section, u.intro))
    return pieces


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """[start, end) of each sentence of text[start:end], trimmed of surrounding whitespace."""
    end = len(text) if end is None else end
    found, s = [], start
    for m in SENTENCE_BOUNDARY.finditer(text, start, end):
        word = re.search(r"(\S+)$", text[max(s, m.start() - 64) : m.start() + 1])  # the tail: abbreviations are short
        token = word.group(1).lower().lstrip("(\"“") if word else ""
        if token in ABBREVIATIONS or re.fullmatch(r"[a-z]\.", token) or re.fullmatch(r"\d{1,2}\.", token):
            continue
        found.append((s, m.end()))
        s = m.end()
    found.append((s, end))
    spans = []
    for a, b in found:
        seg = text[a:b]
        a += len(seg) - len(seg.lstrip())
        b -= len(seg) - len(seg.rstrip())
        if b > a:
            spans.append((a, b))
    return spans


def _sentences(text: str, start: int, end: int, section: str) -> list[Unit]:
    return [Unit("sentence", a, b, section) for a, b in sentence_spans(text, start, end)]


def chunk(clean: CleanText, original: str, chunk_tokens: int, chunk_overlap: int, max_list_tokens: int) -> list[Chunk]:
    all_units = units(clean)
    size = {id(u): tokens.count(clean.text[u.start : u.end]) for u in all_units}

    def unit_text(u: Unit) -> str:
        return " ".join(clean.text[u.start : u.end].split())

    # Blocks are what packing never splits: a sentence, or a list with its introducing sentence.
    blocks: list[tuple[list[Unit], str]] = []  # (units, context carried by a list's later parts)
    i = 0
    while i < len(all_units):
        u = all_units[i]
        if u.intro:
            j = i + 1
            while j < len(all_units) and all_units[j].kind == "item" and all_units[j].section == u.section:
                j += 1
            part, part_tokens, context = [u], size[id(u)], ""
            for item in all_units[i + 1 : j]:
                if part_tokens + size[id(item)] > max_list_tokens and any(x.kind == "item" for x in part):
                    blocks.append((part, context))
                    part, part_tokens, context = [], 0, unit_text(u)
                part.append(item)
                part_tokens += size[id(item)]
            blocks.append((part, context))
            i = j
        else:
            blocks.append(([u], ""))
            i += 1

    chunks: list[Chunk] = []
    current: list[Unit] = []
    context = ""

    def emit() -> None:
        spans = [s for s in (clean.span(u.start, u.end) for u in current) if s]
        if not spans:
            return
        start, end = min(s[0] for s in spans), max(s[1] for s in spans)
        section = current[0].section
        body = [unit_text(u) for u in current]
        heading = "\n".join(x for x in [section, context] if x)
        chunks.append(
            Chunk(
                section=section,
                start=start,
                end=end,
                text=original[start:end],
                index_text="\n".join(x for x in [heading, *body] if x),
                heading=heading,
                sentences=[
                    (s[0], s[1], unit_text(u), "intro" if u.intro else u.kind)
                    for u, s in zip(current, (clean.span(u.start, u.end) for u in current))
                    if s
                ],
            )
        )

    for block, block_context in blocks:
        block_tokens = sum(size[id(u)] for u in block)
        current_tokens = sum(size[id(u)] for u in current)
        new_section = current and block[0].section != current[0].section
        if current and (new_section or current_tokens + block_tokens > chunk_tokens or block_context):
            emit()
            carry: list[Unit] = []
            if not new_section and not block_context:
                for u in reversed(current[1:]):
                    if u.kind != "sentence" or u.intro or sum(size[id(x)] for x in carry) + size[id(u)] > chunk_overlap:
                        break
                    carry.insert(0, u)
            current = carry
            context = ""
        if not current:
            context = block_context
        current.extend(block)
    if current:
        emit()
    return chunks
