"""Where published builds live: one small interface, and the store the settings choose.

A store keeps builds of the collection and makes one of them current atomically; builders take
its lock in turn. `folder.FolderStore` (FAISS and bm25s files in CITEQA_INDEX_DIR) is the default;
`postgres.PostgresStore` (CITEQA_DATABASE_URL) is shared by several servers.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager

from ..index import Index
from ..settings import Settings


class StoreUnavailable(RuntimeError):
    """The store cannot be reached (a database down, a wrong URL); the message names the setting."""


class Store(ABC):
    @abstractmethod
    def describe(self) -> str:
        """Where the store is, for messages (never a password)."""

    @abstractmethod
    def lock(self) -> AbstractContextManager:
        """Held by one builder at a time, across processes."""

    @abstractmethod
    def current_id(self) -> str | None:
        """The current build's id, cheaply (a server polls it); None if there is none."""

    @abstractmethod
    def manifest(self) -> dict | None:
        """The current build's manifest alone (manifest.py), or None; IndexUnusable if it cannot be read."""

    @abstractmethod
    def verify(self) -> None:
        """Raise IndexUnusable unless the current build is whole (checksums, sizes)."""

    @abstractmethod
    def open(self) -> Index | None:
        """The current build, ready to search; IndexUnusable if it is damaged."""

    @abstractmethod
    def publish(self, build, stages: dict[str, float]) -> Index:
        """Make an ingest.Build the current build in one atomic step; record the seconds each step took in `stages`."""

    def wait_for_build(self, seconds: float, stop: threading.Event) -> None:
        """Return when a new build may have been published, after `seconds` at most, or once `stop` is set.

        Waiting the whole time is a poll; a store that can tell when a build is published returns then."""
        stop.wait(seconds)


def open_store(settings: Settings) -> Store:
    """PostgreSQL when CITEQA_DATABASE_URL is set, else the index folder."""
    if settings.database_url:
        from .postgres import PostgresStore

        return PostgresStore(settings.database_url)
    from .folder import FolderStore

    return FolderStore(settings.index_dir)
