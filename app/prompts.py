"""Prompt templates (Jinja2 files in prompts/, loaded by name) and the evidence an LLM is shown.

The evidence is not whole chunks: it is the sentences of the retrieved passages that bear on the
question, each passage keeping its number, within a token budget. Omitted text between chosen
sentences is marked with "…", so nothing is cut silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from . import tokens


class PromptError(RuntimeError):
    """A prompt template is missing or broken; the message names the file and line."""


class Prompts:
    def __init__(self, folder: Path):
        self.folder = folder
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(folder)), undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False
        )

    def render(self, name: str, **values) -> str:
        try:
            return self.env.get_template(f"{name}.j2").render(**values).strip()
        except jinja2.TemplateNotFound:
            raise PromptError(f"prompt template {self.folder / (name + '.j2')} not found (CITEQA_PROMPTS_DIR)") from None
        except jinja2.TemplateSyntaxError as e:
            raise PromptError(f"{e.filename or name}:{e.lineno}: {e.message}") from None
        except jinja2.UndefinedError as e:
            raise PromptError(f"prompt template {name}.j2 uses an unknown value: {e.message}") from None

    def refusal(self, reason: str = "") -> str:
        return self.render("refusal", reason=reason)


@dataclass
class Evidence:
    """One passage as the LLM sees it: its number and the chosen sentences (start, end, text, vector row)."""

    n: int
    section: str
    sentences: list[tuple[int, int, str, int]] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        out, last = "", None
        for pos, (_, _, text, _), kind in sorted(zip(self.positions, self.sentences, self.kinds)):
            if last is not None and pos != last + 1:
                out += " …"
            out += ("\n" if kind == "item" else " ") + text
            last = pos
        return out.strip()


def select_evidence(candidates, chunks_by_n: dict[int, dict], budget_tokens: int, floor: float = 0.25, ratio: float = 0.5, first=()) -> list[Evidence]:
    """The best sentences across passages, best first until the budget is spent; lists keep their introduction.

    `first`: sentences shown before the candidates whatever their score (a compound question's chosen quotes)."""
    if not candidates:
        return []
    best = candidates[0].score
    chosen: dict[int, Evidence] = {}
    used = 0

    def add(n: int, position: int) -> bool:
        nonlocal used
        chunk = chunks_by_n[n]
        ev = chosen.setdefault(n, Evidence(n, chunk["section"]))
        if position in ev.positions:
            return True
        start, end, text, kind = chunk["sentences"][position]
        cost = tokens.count(text) + 1
        if used + cost > budget_tokens:
            return False
        ev.sentences.append((start, end, text, chunk["s0"] + position))
        ev.positions.append(position)
        ev.kinds.append(kind)
        used += cost
        return True

    leading = [c for c in first if c.kind != "item"]
    for i, c in enumerate([*leading, *candidates]):
        if i >= len(leading) and c.score < max(floor, ratio * best):
            break
        sentences = chunks_by_n[c.n]["sentences"]
        if c.kind == "item":  # an item is shown under the sentence that introduces it
            intro = next((p for p in range(c.position - 1, -1, -1) if sentences[p][3] != "item"), None)
            if intro is not None and not add(c.n, intro):
                break
        if not add(c.n, c.position):
            break
        if c.kind == "intro":
            p = c.position + 1
            while p < len(sentences) and sentences[p][3] == "item" and add(c.n, p):
                p += 1
    return [chosen[n] for n in sorted(chosen) if chosen[n].sentences]
