"""The ZIP container Convex's export writes (async_zip 0.0.18's streamed entries), written the same way.

Every entry is streamed as ZIP64, as that writer streams it:

- **local header**: version 20, flags ``0x0808`` (a data descriptor follows; the name is UTF-8),
  Deflate, DOS date and time 0, CRC 0, both sizes ``0xFFFFFFFF``, and a ZIP64 extra field (``0x0001``)
  holding an uncompressed and a compressed size of 0;
- **after the data**: a data descriptor ``PK\\x07\\x08``, the CRC, then ``0xFFFFFFFF`` twice (32-bit
  fields);
- **central directory**: made by ``0x033F`` (Unix, 6.3), needed 20, external attributes
  ``0o644 << 16``, sizes and offset ``0xFFFFFFFF``, and a ZIP64 extra field holding the uncompressed
  size, the compressed size and the local header's offset;
- **end**: a ZIP64 end of central directory record (version needed 46), its locator, then the classic
  record.

A reader takes the sizes from the central directory (Python's ``zipfile`` and Info-ZIP's ``unzip``
do). The Deflate stream itself is zlib's, not Rust's: the same data, other compressed bytes.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from typing import IO

__all__ = ["StreamingZipWriter"]

_LOCAL, _DESCRIPTOR, _CENTRAL = 0x04034B50, 0x08074B50, 0x02014B50
_ZIP64_END, _ZIP64_LOCATOR, _END = 0x06064B50, 0x07064B50, 0x06054B50
_FLAGS = 0x0808
_DEFLATE = 8
_NEEDED = 20
_MADE_BY = 3 << 8 | 63
_MASK32 = 0xFFFFFFFF
_MODE = 0o644 << 16


class StreamingZipWriter:
    """Entries written one after another to ``out`` (which is kept open), then :meth:`close`."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out
        self.offset = 0
        self.entries: list[tuple[bytes, int, int, int, int]] = []  # name, crc, size, compressed, offset

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.offset += len(data)

    def write(self, name: str, data: bytes) -> None:
        self.write_chunks(name, (data,))

    def write_chunks(self, name: str, chunks: Iterable[bytes]) -> None:
        """An entry whose data comes in pieces (compressed as they come: the entry is never held)."""
        encoded = name.encode("utf-8")
        header_offset = self.offset
        extra = struct.pack("<HHQQ", 0x0001, 16, 0, 0)
        self._write(
            struct.pack(
                "<IHHHHHIIIHH",
                _LOCAL,
                _NEEDED,
                _FLAGS,
                _DEFLATE,
                0,
                0,
                0,
                _MASK32,
                _MASK32,
                len(encoded),
                len(extra),
            )
            + encoded
            + extra
        )
        compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        crc = size = compressed = 0
        for chunk in chunks:
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
            out = compressor.compress(chunk)
            compressed += len(out)
            self._write(out)
        out = compressor.flush()
        compressed += len(out)
        self._write(out)
        crc &= _MASK32
        self._write(struct.pack("<IIII", _DESCRIPTOR, crc, _MASK32, _MASK32))
        self.entries.append((encoded, crc, size, compressed, header_offset))

    def close(self) -> None:
        directory_offset = self.offset
        for encoded, crc, size, compressed, header_offset in self.entries:
            extra = struct.pack("<HHQQQ", 0x0001, 24, size, compressed, header_offset)
            self._write(
                struct.pack(
                    "<IHHHHHHIIIHHHHHII",
                    _CENTRAL,
                    _MADE_BY,
                    _NEEDED,
                    _FLAGS,
                    _DEFLATE,
                    0,
                    0,
                    crc,
                    _MASK32,
                    _MASK32,
                    len(encoded),
                    len(extra),
                    0,
                    0,
                    0,
                    _MODE,
                    _MASK32,
                )
                + encoded
                + extra
            )
        directory_size = self.offset - directory_offset
        count = len(self.entries)
        end64_offset = self.offset
        self._write(
            struct.pack(
                "<IQHHIIQQQQ",
                _ZIP64_END,
                44,
                _MADE_BY,
                46,
                0,
                0,
                count,
                count,
                directory_size,
                directory_offset,
            )
        )
        self._write(struct.pack("<IIQI", _ZIP64_LOCATOR, 0, end64_offset, 1))
        self._write(
            struct.pack(
                "<IHHHHIIH",
                _END,
                0,
                0,
                min(count, 0xFFFF),
                min(count, 0xFFFF),
                min(directory_size, _MASK32),
                min(directory_offset, _MASK32),
                0,
            )
        )
        self.out.flush()
