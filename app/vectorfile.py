"""Rows of a saved vector matrix (.npy), read from the file when asked for.

A query touches a few dozen rows, so the rest need not be read or resident (at 100k chunks the
server's peak memory fell from 3.8 to 2.4 GB against reading them all; bench/README.md). The
rows are read with pread rather than memory-mapped: a mapped file that is truncated under a
running server kills it with SIGBUS at the next touch, while a short read is an error we report.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


class VectorFileError(OSError):
    """The file is not the matrix its header describes (truncated, or not a vector file)."""


class VectorFile:
    def __init__(self, path: Path):
        self.path = path
        with open(path, "rb") as f:
            try:
                version = np.lib.format.read_magic(f)
                read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, fortran, dtype = read_header(f)
            except ValueError as e:
                raise VectorFileError(f"{path} is not a vector file ({e})") from None
            self.offset = f.tell()
        if len(shape) != 2 or fortran or dtype != np.float32:
            raise VectorFileError(f"{path} holds a {dtype} array of shape {shape}, not float32 rows")
        self.shape = shape
        self.dtype = dtype
        self.ndim = 2
        self._row_bytes = shape[1] * dtype.itemsize
        size = os.stat(path).st_size
        if size != self.offset + shape[0] * self._row_bytes:
            raise VectorFileError(f"{path} is {size:,} bytes; its header says {self.offset + shape[0] * self._row_bytes:,} (truncated?)")
        # The descriptor keeps the build's file readable even after the folder is replaced and removed.
        self._fd = os.open(path, os.O_RDONLY)

    def __len__(self) -> int:
        return self.shape[0]

    def __del__(self):
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)

    def _read(self, start: int, stop: int) -> np.ndarray:
        want = (stop - start) * self._row_bytes
        data = os.pread(self._fd, want, self.offset + start * self._row_bytes) if want else b""
        if len(data) != want:
            raise VectorFileError(f"{self.path} ended early: rows {start}-{stop} are missing (the file was truncated); rebuild with `citeqa index`")
        return np.frombuffer(data, dtype=self.dtype).reshape(stop - start, self.shape[1])

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step != 1:
                return self[list(range(start, stop, step))]
            return self._read(start, max(start, stop))
        if isinstance(key, (int, np.integer)):
            return self[[int(key)]][0]
        rows = np.asarray(key, dtype=np.int64).reshape(-1)
        if rows.size and (rows.min() < 0 or rows.max() >= len(self)):
            raise IndexError(f"row out of range for {self.path} ({len(self)} rows)")
        out = np.empty((rows.size, self.shape[1]), dtype=self.dtype)
        if not rows.size:
            return out
        # One read per run of consecutive rows (a chunk's sentences are consecutive).
        order = np.argsort(rows, kind="stable")
        sorted_rows = rows[order]
        breaks = np.flatnonzero(np.diff(sorted_rows) != 1) + 1
        for run in np.split(np.arange(rows.size), breaks):
            lo, hi = int(sorted_rows[run[0]]), int(sorted_rows[run[-1]]) + 1
            block = self._read(lo, hi)
            out[order[run]] = block[sorted_rows[run] - lo]
        return out

    def __array__(self, dtype=None, copy=None):
        whole = self._read(0, len(self))
        return whole.astype(dtype) if dtype is not None else whole
