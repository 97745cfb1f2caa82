"""What the collection holds: the sources its current build records, plus any added, plus the uploads.

The manifest of the current build is the one record of it. Every builder (`citeqa index`, a CLI
command that finds the index stale, a server indexing an upload) reads that record under the
build lock and adds to it, so no builder drops what another one added. A source leaves the
collection only when asked (`citeqa index --remove PATH`); a document leaves it when its file
is deleted from a source folder.
"""

from __future__ import annotations

from pathlib import Path

from .settings import Settings

DEFAULT = [Path("seeds")]


def _key(path: Path) -> Path:
    return path.expanduser().resolve()


def recorded(manifest: dict | None) -> list[Path]:
    return [Path(p) for p in (manifest or {}).get("sources", [])]


def collection(settings: Settings, manifest: dict | None, add: list[Path] = (), remove: list[Path] = ()) -> list[Path]:
    """The sources a build of this collection reads, as absolute paths, each once, in a stable order."""
    base = recorded(manifest) or ([] if add or settings.sources else DEFAULT)
    gone = {_key(p) for p in remove}
    out: dict[Path, None] = {}
    for p in [*base, *(settings.sources or []), *add]:
        if _key(p) not in gone:
            out.setdefault(_key(p), None)
    uploads = settings.upload_dir
    if uploads.is_dir() and any(uploads.iterdir()) and _key(uploads) not in gone:
        out.setdefault(_key(uploads), None)
    return list(out)


def under(path: str, root: Path) -> bool:
    """Whether the file at `path` is `root` or inside it."""
    p, r = Path(path).resolve(), root.resolve()
    return p == r or r in p.parents


def missing(paths: list[Path]) -> list[Path]:
    return [p for p in paths if not p.exists()]


def gone(root: Path, kept: int) -> str:
    """What to tell of a recorded source that is not there."""
    return f"{root}: no such file or folder; its {kept} indexed documents are kept (`citeqa index --remove {root}` takes it out of the collection)"
