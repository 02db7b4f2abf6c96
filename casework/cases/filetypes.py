"""What an uploaded file really is, judged by its content; images copied without their metadata.

Neither the browser's content type nor the file name is trusted: the type comes from the first bytes
and, for zip containers (DOCX, XLSX, ODT), from the entry that names the document's type. Web pages
(HTML, SVG, XML), executables, archives and macro documents are refused.

JPEG, PNG and WebP images are copied without the segments and chunks that carry EXIF (GPS position,
camera serial number, time taken), XMP, IPTC, comments, embedded thumbnails and data appended after
the image. Pixel data is copied byte for byte: nothing is decoded or re-encoded, so no quality is lost
and no image library is needed. Everything is read in chunks from a seekable stream.
"""

from __future__ import annotations

import codecs
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, cast

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from casework.errors import Invalid

CHUNK = 64 * 1024


@dataclass(frozen=True)
class FileType:
    code: str
    mime: str
    extensions: tuple[str, ...]  # the first is the one added to a download name that lacks one
    label: LazyString


PDF = FileType("pdf", "application/pdf", (".pdf",), _l("PDF document"))
JPEG = FileType("jpeg", "image/jpeg", (".jpg", ".jpeg", ".jpe", ".jfif"), _l("JPEG image"))
PNG = FileType("png", "image/png", (".png",), _l("PNG image"))
WEBP = FileType("webp", "image/webp", (".webp",), _l("WebP image"))
TEXT = FileType("text", "text/plain", (".txt", ".text", ".csv", ".log"), _l("Text"))
DOCX = FileType(
    "docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    (".docx",),
    _l("Word document"),
)
XLSX = FileType(
    "xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    (".xlsx",),
    _l("Excel workbook"),
)
ODT = FileType("odt", "application/vnd.oasis.opendocument.text", (".odt",), _l("OpenDocument text"))

TYPES = (PDF, JPEG, PNG, WEBP, TEXT, DOCX, XLSX, ODT)
BY_MIME = {t.mime: t for t in TYPES}

NOT_ACCEPTED = _l(
    "This kind of file is not accepted. Upload a PDF, a photo (JPEG, PNG or WebP), a plain text "
    "file, or a Word (DOCX), Excel (XLSX) or OpenDocument (ODT) document."
)
DAMAGED = _l("The file is damaged or incomplete. Save it again and upload the new copy.")


def _refuse(message: LazyString | str) -> Invalid:
    return Invalid(message, file=message)


# --- Detection ---------------------------------------------------------------------------------


def detect(stream: BinaryIO) -> FileType:
    """The file's type from its content; Invalid (with a message for the user) when not accepted."""
    stream.seek(0)
    head = stream.read(16)
    stream.seek(0)
    try:
        if not head:
            raise _refuse(_l("The file is empty."))
        if head.startswith(b"%PDF-"):
            return PDF
        if head.startswith(b"\xff\xd8\xff"):
            return JPEG
        if head.startswith(PNG_SIGNATURE):
            return PNG
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return WEBP
        if head.startswith(b"PK\x03\x04"):
            return _zip_document(stream)
        if _plain_text(stream):
            return TEXT
        raise _refuse(NOT_ACCEPTED)
    finally:
        stream.seek(0)


# Markup a browser would render as a page or a script if the file were ever opened inline.
_MARKUP = re.compile(
    rb"<\s*(?:!doctype|html|head|body|script|svg|iframe|object|embed|frame|style|meta|\?xml|xsl)",
    re.IGNORECASE,
)
_WHITESPACE = b" \t\r\n\f"


def _plain_text(stream: BinaryIO) -> bool:
    """UTF-8 text without NUL bytes, and nothing that a browser would take for a web page."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    first = True
    while chunk := stream.read(CHUNK):
        if first:
            first = False
            start = chunk.removeprefix(codecs.BOM_UTF8).lstrip(_WHITESPACE)
            if start.startswith(b"<") or _MARKUP.search(chunk[:4096]):
                raise _refuse(_l("Web pages, SVG and XML files are not accepted."))
        if b"\x00" in chunk:
            return False
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError:
            return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
}
_CONTENT_TYPE = re.compile(rb'ContentType\s*=\s*"([^"]{1,200})"')
_ENTRY_LIMIT = 512 * 1024


def _entry(archive: zipfile.ZipFile, name: str) -> bytes:
    # Read at most a bounded amount: a crafted entry may decompress to gigabytes.
    with archive.open(name) as fh:
        data = fh.read(_ENTRY_LIMIT + 1)
    if len(data) > _ENTRY_LIMIT:
        raise _refuse(NOT_ACCEPTED)
    return data


def _zip_document(stream: BinaryIO) -> FileType:
    """DOCX and XLSX by their [Content_Types].xml, ODT by its mimetype entry; no macros."""
    try:
        with zipfile.ZipFile(stream) as archive:
            names = archive.namelist()
            lowered = [n.lower() for n in names]
            if any(
                n.endswith(("vbaproject.bin", "vbadata.xml"))
                or n.startswith(("basic/", "scripts/"))
                for n in lowered
            ):
                raise _refuse(_l("Documents with macros are not accepted."))
            if "mimetype" in names:
                if _entry(archive, "mimetype").strip() == ODT.mime.encode():
                    return ODT
                raise _refuse(NOT_ACCEPTED)
            if "[Content_Types].xml" in names:
                declared = {
                    m.decode("ascii", "replace").strip().lower()
                    for m in _CONTENT_TYPE.findall(_entry(archive, "[Content_Types].xml"))
                }
                if any("macroenabled" in t for t in declared):
                    raise _refuse(_l("Documents with macros are not accepted."))
                found = {kind for ct, kind in OOXML_MAIN.items() if ct in declared}
                if len(found) == 1:
                    return found.pop()
            raise _refuse(NOT_ACCEPTED)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        RuntimeError,  # an encrypted entry
        NotImplementedError,  # an unknown compression method
        EOFError,
        ValueError,
        zlib.error,
    ):
        raise _refuse(DAMAGED) from None


# --- Cleaning ----------------------------------------------------------------------------------


def cleaned(stream: BinaryIO, kind: FileType) -> BinaryIO:
    """A readable stream of what is stored: images without metadata, anything else as it came."""
    stream.seek(0)
    stripper = STRIPPERS.get(kind.code)
    if stripper is None:
        return stream
    return cast(BinaryIO, ChunkReader(stripper(stream)))


class ChunkReader:
    """A file-like read() over an iterator of byte strings (what files.store() consumes)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = bytearray()
        self._done = False

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._buffer) < size):
            try:
                self._buffer += next(self._chunks)
            except StopIteration:
                self._done = True
        if size < 0 or size > len(self._buffer):
            size = len(self._buffer)
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out


def _exact(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    while len(data) < size:
        more = stream.read(size - len(data))
        if not more:
            raise _refuse(DAMAGED)
        data += more
    return data


# JPEG ------------------------------------------------------------------------------------------

SOI, EOI, SOS, APP0, APP14, COM = 0xD8, 0xD9, 0xDA, 0xE0, 0xEE, 0xFE
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RST0–7 carry no length


class _Buffered:
    """Just enough buffering to scan entropy-coded data for markers without reading byte by byte."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.data = b""
        self.pos = 0

    def fill(self) -> bool:
        more = self.stream.read(CHUNK)
        if not more:
            return False
        self.data = self.data[self.pos :] + more
        self.pos = 0
        return True

    def read(self, size: int) -> bytes:
        while len(self.data) - self.pos < size:
            if not self.fill():
                raise _refuse(DAMAGED)
        out = self.data[self.pos : self.pos + size]
        self.pos += size
        return out

    def marker(self) -> int:
        """The next marker's code, skipping fill bytes (0xFF 0xFF … 0xFF xx)."""
        if self.read(1) != b"\xff":
            raise _refuse(DAMAGED)
        code = self.read(1)[0]
        while code == 0xFF:
            code = self.read(1)[0]
        return code

    def entropy_data(self) -> Iterator[bytes]:
        """Copy a scan's coded data up to the next marker that is not a restart (left unread)."""
        while True:
            at = self.data.find(b"\xff", self.pos)
            if at == -1:
                if self.pos < len(self.data):
                    yield self.data[self.pos :]
                self.data, self.pos = b"", 0
                if not self.fill():
                    return  # cut short: the caller ends the image
                continue
            if at + 1 == len(self.data):
                if at > self.pos:
                    yield self.data[self.pos : at]
                self.pos = at
                if not self.fill():
                    self.pos = len(self.data)
                    return
                continue
            following = self.data[at + 1]
            if following == 0x00 or 0xD0 <= following <= 0xD7:  # stuffed byte or restart marker
                yield self.data[self.pos : at + 2]
                self.pos = at + 2
                continue
            if at > self.pos:
                yield self.data[self.pos : at]
            self.pos = at
            return

    def at_end(self) -> bool:
        return self.pos >= len(self.data) and not self.fill()


def _jfif_without_thumbnail(payload: bytes) -> bytes | None:
    # JFIF header: "JFIF\0", version (2), units (1), densities (2 + 2), thumbnail size (1 + 1).
    if payload.startswith(b"JFIF\x00") and len(payload) >= 14:
        return payload[:12] + b"\x00\x00"
    return None


def _kept_segment(code: int, payload: bytes) -> bytes | None:
    """The segment's payload as it is stored, or None when the segment is dropped."""
    if code == APP0:
        return _jfif_without_thumbnail(payload)
    if code == APP14:
        return payload if payload.startswith(b"Adobe") and len(payload) == 12 else None
    if 0xE1 <= code <= 0xEF or code == COM:
        return None
    return payload


def strip_jpeg(stream: BinaryIO) -> Iterator[bytes]:
    """JPEG without APP1–APP15 (EXIF, XMP, ICC, IPTC, MPF…), COM, JFIF thumbnails, trailing data.

    Kept: the quantisation and Huffman tables, frame and scan headers, the coded data, restart
    intervals, the bare JFIF header, and Adobe's 12-byte colour-transform segment (no personal data,
    and CMYK images decode wrongly without it).
    """
    reader = _Buffered(stream)
    if reader.read(2) != b"\xff\xd8":
        raise _refuse(DAMAGED)
    yield b"\xff\xd8"
    scanned = False
    while True:
        if reader.at_end():
            if not scanned:
                raise _refuse(DAMAGED)
            yield b"\xff\xd9"  # cut short after a scan: end the image properly
            return
        code = reader.marker()
        if code == EOI:
            if not scanned:
                raise _refuse(DAMAGED)
            yield b"\xff\xd9"
            return  # anything after the end (appended previews, maker data) is dropped
        if code == SOI:
            raise _refuse(DAMAGED)
        if code in _STANDALONE:
            yield bytes((0xFF, code))
            continue
        (length,) = struct.unpack(">H", reader.read(2))
        if length < 2:
            raise _refuse(DAMAGED)
        payload = _kept_segment(code, reader.read(length - 2))
        if payload is not None:
            yield bytes((0xFF, code)) + struct.pack(">H", len(payload) + 2) + payload
        if code == SOS:
            scanned = True
            yield from reader.entropy_data()


# PNG -------------------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Image data and how to show it (colour space, transparency, animation). Everything else is dropped:
# tEXt, zTXt and iTXt (author, comments, software, XMP), tIME, eXIf, and private chunks.
PNG_KEEP = frozenset(
    b"IHDR PLTE IDAT IEND tRNS gAMA cHRM sRGB iCCP sBIT bKGD pHYs cICP mDCv cLLI acTL fcTL fdAT".split()
)


def strip_png(stream: BinaryIO) -> Iterator[bytes]:
    """PNG with only the chunks that draw the image; every chunk's CRC checked; trailing data cut."""
    if _exact(stream, 8) != PNG_SIGNATURE:
        raise _refuse(DAMAGED)
    yield PNG_SIGNATURE
    first = True
    while True:
        header = _exact(stream, 8)
        length, kind = struct.unpack(">I4s", header)
        if length > 0x7FFFFFFF or (first and kind != b"IHDR") or not kind.isalpha():
            raise _refuse(DAMAGED)
        first = False
        keep = kind in PNG_KEEP
        if not keep and kind[:1].isupper():  # an unknown critical chunk: the image needs it
            raise _refuse(NOT_ACCEPTED)
        crc = zlib.crc32(kind)
        if keep:
            yield header
        remaining = length
        while remaining:
            piece = stream.read(min(remaining, CHUNK))
            if not piece:
                raise _refuse(DAMAGED)
            crc = zlib.crc32(piece, crc)
            remaining -= len(piece)
            if keep:
                yield piece
        stored = _exact(stream, 4)
        if struct.unpack(">I", stored)[0] != crc:
            raise _refuse(DAMAGED)
        if keep:
            yield stored
        if kind == b"IEND":
            return


# WebP ------------------------------------------------------------------------------------------

WEBP_KEEP = frozenset((b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF", b"ICCP"))
_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04


def strip_webp(stream: BinaryIO) -> Iterator[bytes]:
    """WebP without its EXIF and XMP chunks (and unknown ones); the RIFF size and flags fixed."""
    header = _exact(stream, 12)
    declared = struct.unpack("<I", header[4:8])[0]
    end = 8 + declared
    # First pass: where the chunks are (headers only), so that the new size comes first.
    chunks: list[tuple[bytes, int, int]] = []
    offset = 12
    while offset + 8 <= end:
        stream.seek(offset)
        head = stream.read(8)
        if len(head) < 8:
            break
        fourcc, size = head[:4], struct.unpack("<I", head[4:])[0]
        padded = size + (size & 1)
        if offset + 8 + size > end:
            raise _refuse(DAMAGED)
        chunks.append((fourcc, offset + 8, size))
        offset += 8 + padded
    kept = [c for c in chunks if c[0] in WEBP_KEEP]
    if not any(c[0] in (b"VP8 ", b"VP8L", b"ANMF") for c in kept):
        raise _refuse(DAMAGED)
    total = 4 + sum(8 + size + (size & 1) for _fourcc, _at, size in kept)
    yield b"RIFF" + struct.pack("<I", total) + b"WEBP"
    for fourcc, at, size in kept:
        stream.seek(at)
        yield fourcc + struct.pack("<I", size)
        remaining = size + (size & 1)
        first = True
        while remaining:
            piece = stream.read(min(remaining, CHUNK))
            if not piece:
                if remaining == 1 and size & 1:  # a missing final pad byte: supply it
                    piece = b"\x00"
                else:
                    raise _refuse(DAMAGED)
            if first and fourcc == b"VP8X":
                piece = bytes((piece[0] & ~(_VP8X_EXIF | _VP8X_XMP),)) + piece[1:]
            first = False
            remaining -= len(piece)
            yield piece


STRIPPERS: dict[str, Callable[[BinaryIO], Iterator[bytes]]] = {
    JPEG.code: strip_jpeg,
    PNG.code: strip_png,
    WEBP.code: strip_webp,
}
