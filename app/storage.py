"""The index folder on disk: numbered builds, a `current` link that is swapped atomically, a lock.

    index/
      current -> builds/20261122-163355-4f2a   (the build that queries read)
      builds/...                               (a new build is written beside it, then published)
      .lock

A build is complete before `current` points at it, so a crash mid-build leaves the old one in use.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import time
import uuid
from contextlib import contextmanager
from pathlib import Path


class IndexLockedError(RuntimeError):
    """Another process is building this index."""


def describe_os_error(error: OSError) -> str:
    """What went wrong writing or reading a build, in words that say what to do."""
    where = f" ({error.filename})" if error.filename else ""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"no space left on the device{where}: free some space, then run `citeqa index` again; the previous build is kept"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"not allowed to write{where}: check the permissions of the index folder (CITEQA_INDEX_DIR)"
    return f"{error.strerror or error}{where}"


def current_build(index_dir: Path) -> Path | None:
    link = index_dir / "current"
    if not link.is_symlink() and not link.exists():
        return None
    target = link.resolve()
    return target if target.is_dir() else None


def new_build_dir(index_dir: Path) -> Path:
    builds = index_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    path = builds / f"tmp-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    path.mkdir()
    return path


def _fsync_tree(path: Path) -> None:
    for p in [*path.rglob("*"), path]:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def publish(index_dir: Path, build: Path) -> Path:
    """Make `build` the current index in one atomic step, then remove builds no longer in use."""
    _fsync_tree(build)
    final = build.with_name(build.name.removeprefix("tmp-"))
    os.rename(build, final)
    link = index_dir / "current"
    tmp_link = index_dir / f".current-{uuid.uuid4().hex[:6]}"
    os.symlink(Path("builds") / final.name, tmp_link)
    os.replace(tmp_link, link)
    for old in (index_dir / "builds").iterdir():
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def discard(build: Path) -> None:
    shutil.rmtree(build, ignore_errors=True)


@contextmanager
def lock(index_dir: Path, wait_seconds: float = 600.0):
    """Hold the build lock; wait for another builder up to `wait_seconds`, then give up clearly."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as f:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise IndexLockedError(
                        f"{index_dir} is being built by another process; try again when it has finished"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
