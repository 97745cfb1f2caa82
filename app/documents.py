"""Reading source files into documents: one text per file, with a real parser for each format.

A document's `text` is what citation offsets refer to. For .txt and .md files it is the file
itself (as `open(path).read()` returns it); for .html and .pdf it is the extracted text, which
the index stores beside itself so that every span still resolves.
"""

from __future__ import annotations

import hashlib
import re
import io
from dataclasses import dataclass
from pathlib import Path

from .safety import without_bidi_controls

SUPPORTED = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html", ".pdf": "pdf"}


class IngestError(Exception):
    """One file could not be read; the message says which and why."""

    def __init__(self, path: Path | str, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


@dataclass(frozen=True)
class Document:
    name: str  # unique within the collection: the path relative to the folder it was found in
    path: str  # where it was read from
    format: str
    text: str
    sha256: str  # of the file's bytes, so any change to the source is seen
    title: str = ""  # what people call it (title())


TITLE_CHARS = 80


def title(text: str) -> str:
    """What people call a document: its first heading (an HTML <title> becomes one), else its first line, shortened.
    A PDF's own title (its metadata) comes first."""
    lines = [line.strip() for line in text[:20_000].splitlines() if line.strip()]  # a title is near the start
    if not lines:
        return ""
    heading = next((line.lstrip("#").strip() for line in lines[:40] if re.match(r"#{1,6}\s", line)), None)
    # A title is for display and refers to no offsets: bidi controls in it could only disguise it.
    found = " ".join(without_bidi_controls(heading or lines[0]).split())
    if len(found) <= TITLE_CHARS:
        return found
    cut = found[:TITLE_CHARS].rsplit(" ", 1)[0].rstrip(",;:.–- ")
    return cut + "…"


def discover(paths: list[Path]) -> list[tuple[Path, str]]:
    """The supported files under `paths`, each with the name it gets in the collection."""
    found: dict[str, Path] = {}
    for root in paths:
        if not root.exists():
            raise FileNotFoundError(f"{root}: no such file or folder")
        if root.is_file():
            candidates = [(root, root.name)]
        else:
            candidates = [
                (p, p.relative_to(root).as_posix())
                for p in sorted(root.rglob("*"))
                if p.is_file() and p.suffix.lower() in SUPPORTED and not any(part.startswith(".") for part in p.relative_to(root).parts)
            ]
        for path, name in candidates:
            if name in found and found[name].resolve() != path.resolve():
                raise IngestError(path, f"two files share the name {name!r} ({found[name]}); rename one")
            found[name] = path
    return [(path, name) for name, path in sorted(found.items())]


def stamp(path: Path) -> tuple[int, int]:
    """Size and modification time: a file whose stamp is unchanged is not read again."""
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def load(path: Path, name: str | None = None) -> Document:
    fmt = SUPPORTED.get(path.suffix.lower())
    if fmt is None:
        raise IngestError(path, f"unsupported file type {path.suffix!r}; supported: {', '.join(sorted(SUPPORTED))}")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise IngestError(path, f"cannot read the file ({e.strerror or e})") from None
    if not data.strip():
        raise IngestError(path, "the file is empty")
    text = {"text": _decode, "markdown": _decode, "html": _html_text, "pdf": _pdf_text}[fmt](path, data)
    if not text.strip():
        raise IngestError(path, "no text could be extracted from the file")
    found = (_pdf_title(data) if fmt == "pdf" else "") or title(text)
    return Document(name=name or path.name, path=str(path), format=fmt, text=text, sha256=hashlib.sha256(data).hexdigest(), title=found)


def _decode(path: Path, data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        source = "UTF-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "LATIN1"  # the likely encoding; `file -i` tells
        raise IngestError(
            path, f"not valid UTF-8 (byte {e.start}, line {line}); convert it, e.g. `iconv -f {source} -t UTF-8 '{path}' > '{path}.utf8{path.suffix}'`"
        ) from None
    if "\x00" in text:
        raise IngestError(path, "the file holds NUL bytes: it looks binary, not text")
    # Universal newlines, and a byte-order mark kept as its character, as open(path, encoding="utf-8").read()
    # gives them: offsets agree with that reading.
    return text.replace("\r\n", "\n").replace("\r", "\n")


_BLOCK_TAGS = {
    "p", "div", "section", "article", "header", "footer", "main", "aside", "blockquote", "pre",
    "ul", "ol", "li", "table", "tr", "br", "hr", "dl", "dt", "dd", "figure", "figcaption",
    "h1", "h2", "h3", "h4", "h5", "h6", "title",
}
_SKIP_TAGS = {"script", "style", "noscript", "template", "nav", "svg", "head"}


def _html_text(path: Path, data: bytes) -> str:
    from selectolax.lexbor import LexborHTMLParser as HTMLParser

    tree = HTMLParser(data.decode("utf-8", errors="replace"))
    out: list[str] = []
    title = tree.css_first("head > title")
    if title is not None and title.text(strip=True):
        out.append(f"# {title.text(strip=True)}\n\n")

    def walk(node) -> None:
        for child in node.iter(include_text=True):
            tag = child.tag
            if tag == "-text":
                out.append(child.text_content or "")
            elif tag in _SKIP_TAGS or tag == "-comment":
                continue
            elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
                out.append(f"\n\n{'#' * int(tag[1])} {child.text(separator=' ', strip=True)}\n\n")
            elif tag == "li":
                out.append("\n- ")
                walk(child)
                out.append("\n")
            elif tag in _BLOCK_TAGS:
                out.append("\n\n")
                walk(child)
                out.append("\n\n")
            else:
                walk(child)

    walk(tree.body if tree.body is not None else tree.root)
    lines = [" ".join(line.split()) for line in "".join(out).split("\n")]
    text, blank = [], True
    for line in lines:
        if line or not blank:
            text.append(line)
        blank = not line
    return "\n".join(text).strip() + "\n"


def _pdf_title(data: bytes) -> str:
    from pypdf import PdfReader

    try:
        found = (PdfReader(io.BytesIO(data)).metadata or {}).get("/Title") or ""
    except Exception:  # a title is a nicety: a PDF whose metadata cannot be read is still read for its text
        return ""
    found = " ".join(without_bidi_controls(str(found)).split())
    if found.lower() in ("untitled", "untitled document"):  # what PDF writers put when nobody set one
        return ""
    return found if len(found) <= TITLE_CHARS else found[:TITLE_CHARS].rsplit(" ", 1)[0] + "…"


def _pdf_text(path: Path, data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise IngestError(path, "the PDF is encrypted; decrypt it first (e.g. `qpdf --decrypt`)")
        pages = [page.extract_text() or "" for page in reader.pages]
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as e:
        raise IngestError(path, f"not a readable PDF ({e})") from None
    return "\n\n".join(p.strip("\n") for p in pages) + "\n"
