"""A folder build's chunks and document texts, each read from its file when first asked for.

Opening a build then costs the same at any size: parsing every line of chunks.jsonl took 2.9 s
at 100k chunks, and a question reads a few dozen of them (bench/cold_start.py). Both files are
records laid end to end, found through an offsets array (each record's first byte, and the
file's length last): a chunk is one line of chunks.jsonl, a document's text one stretch of
texts.txt. Read with pread, like vectorfile.py: a file truncated under a running server is an
error we report rather than a SIGBUS, and the open descriptor keeps an old build readable after
a newer one replaced and removed its folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np


class RecordFileError(OSError):
    """A file does not hold the records its offsets say (truncated or damaged)."""


def write_records(path: Path, records: Iterable[bytes]) -> np.ndarray:
    """Write `records` end to end into `path`; their offsets, to save beside it."""
    offsets = [0]
    with open(path, "wb") as f:
        for record in records:
            f.write(record)
            offsets.append(offsets[-1] + len(record))
    return np.array(offsets, dtype=np.int64)


class Records:
    def __init__(self, path: Path, offsets: np.ndarray):
        self.path = path
        self._offsets = offsets
        self._fd = os.open(path, os.O_RDONLY)
        size = os.fstat(self._fd).st_size
        if len(offsets) == 0 or size != int(offsets[-1]):
            raise RecordFileError(f"{path} is {size:,} bytes; its offsets say {int(offsets[-1]) if len(offsets) else 0:,} (truncated?); rebuild it with `citeqa index`")

    def __del__(self):
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def read(self, i: int) -> bytes:
        start, end = int(self._offsets[i]), int(self._offsets[i + 1])
        data = os.pread(self._fd, end - start, start)
        if len(data) != end - start:
            raise RecordFileError(f"{self.path} ends before record {i} (truncated?); rebuild it with `citeqa index`")
        return data


class Rows(Sequence):
    """A build's chunks by row, each read when first asked for: what ChunkTable and a database store share."""

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"chunk row {i} out of range")
        return self._chunk(i)

    def _chunk(self, i: int) -> dict:
        raise NotImplementedError


class ChunkTable(Rows):
    """The chunks (dicts, as ingest made them), parsed on first use and kept."""

    def __init__(self, records: Records):
        self._records = records
        self._parsed: dict[int, dict] = {}

    def __len__(self) -> int:
        return len(self._records)

    def _chunk(self, i: int) -> dict:
        chunk = self._parsed.get(i)
        if chunk is None:
            try:
                chunk = self._parsed[i] = json.loads(self._records.read(i))
            except ValueError:
                raise RecordFileError(f"{self._records.path}: chunk row {i} is not the line its offsets say (damaged?); rebuild it with `citeqa index`") from None
        return chunk


class DocumentTexts(Mapping):
    """Document name -> its text (what offsets refer to), in the manifest's order of documents."""

    def __init__(self, names: list[str], records: Records):
        if len(names) != len(records):
            raise RecordFileError(f"{records.path} holds {len(records)} texts for {len(names)} documents")
        self._row = {name: i for i, name in enumerate(names)}
        self._records = records
        self._read: dict[str, str] = {}

    def __getitem__(self, name: str) -> str:
        text = self._read.get(name)
        if text is None:
            text = self._read[name] = self._records.read(self._row[name]).decode("utf-8")
        return text

    def __iter__(self):
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._row)
