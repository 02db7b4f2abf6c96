"""File types judged by content, and images copied without their metadata (built by hand here)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.cases import attachments, filetypes
from casework.errors import Invalid

SECRETS = (b"GPS-21.0285N", b"CANARY-XMP", b"IPTC-BYLINE", b"COMMENT-SECRET", b"TRAILER-SECRET")


# --- Builders ---------------------------------------------------------------------------------


def segment(code: int, payload: bytes) -> bytes:
    return bytes((0xFF, code)) + struct.pack(">H", len(payload) + 2) + payload


JFIF = b"JFIF\x00\x01\x02\x01\x00\x48\x00\x48"  # version 1.2, dpi 72×72
DQT = segment(0xDB, b"\x00" + bytes(range(1, 65)))
SOF0 = segment(0xC0, b"\x08\x00\x01\x00\x01\x01\x01\x11\x00")
DHT = segment(0xC4, b"\x00" + b"\x01" + b"\x00" * 15 + b"\x00")
SOS = segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
SCAN = b"\x12\x34\xff\x00\x56\xff\xd0\x78\x9a\xff\x00"  # a stuffed byte and a restart marker
EXIF = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08" + b"GPSLatitude GPS-21.0285N camera SN 1234"


def jpeg_with_metadata(scan: bytes = SCAN) -> bytes:
    return b"".join(
        [
            b"\xff\xd8",
            segment(0xE0, JFIF + b"\x01\x01" + b"\xaa\xbb\xcc"),  # with a 1×1 thumbnail
            segment(0xE1, EXIF),
            segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>CANARY-XMP</x:xmpmeta>"),
            segment(0xE2, b"ICC_PROFILE\x00\x01\x01" + b"\x00" * 20),
            segment(0xED, b"Photoshop 3.0\x008BIM\x04\x04IPTC-BYLINE"),
            segment(0xFE, b"COMMENT-SECRET"),
            DQT,
            SOF0,
            DHT,
            b"\xff\xff",  # fill bytes before a marker are allowed
            SOS,
            scan,
            b"\xff\xd9",
            b"TRAILER-SECRET\xff\xd8" + segment(0xE1, EXIF) + b"\xff\xd9",  # an appended preview
        ]
    )


def jpeg_clean(scan: bytes = SCAN) -> bytes:
    return b"".join(
        [b"\xff\xd8", segment(0xE0, JFIF + b"\x00\x00"), DQT, SOF0, DHT, SOS, scan, b"\xff\xd9"]
    )


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


IHDR = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
PHYS = chunk(b"pHYs", struct.pack(">IIB", 2835, 2835, 1))
IDAT = chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
IEND = chunk(b"IEND", b"")


def png_with_metadata() -> bytes:
    return b"".join(
        [
            filetypes.PNG_SIGNATURE,
            IHDR,
            chunk(b"tEXt", b"Author\x00COMMENT-SECRET"),
            chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"IPTC-BYLINE")),
            chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00CANARY-XMP"),
            chunk(b"tIME", struct.pack(">HBBBBB", 2026, 11, 28, 20, 15, 0)),
            chunk(b"eXIf", EXIF[6:]),
            PHYS,
            IDAT,
            IEND,
            b"TRAILER-SECRET",
        ]
    )


def png_clean() -> bytes:
    return filetypes.PNG_SIGNATURE + IHDR + PHYS + IDAT + IEND


def riff(fourcc: bytes, data: bytes) -> bytes:
    return fourcc + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) & 1 else b"")


VP8L = riff(b"VP8L", b"\x2f\x00\x00\x00\x00\x88\x88\x08")


def webp(chunks: list[bytes]) -> bytes:
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_with_metadata() -> bytes:
    vp8x = riff(b"VP8X", bytes((0x08 | 0x04,)) + b"\x00" * 3 + b"\x00\x00\x00" + b"\x00\x00\x00")
    return webp(
        [vp8x, VP8L, riff(b"EXIF", EXIF[6:]), riff(b"XMP ", b"<x:xmpmeta>CANARY-XMP</x:xmpmeta>")]
    )


def webp_clean() -> bytes:
    return webp([riff(b"VP8X", b"\x00" * 10), VP8L])


def zipped(entries: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries:
            method = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return out.getvalue()


def content_types(main: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/main.xml" ContentType="{main}"/></Types>'
    ).encode()


DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def docx() -> bytes:
    return zipped(
        [("[Content_Types].xml", content_types(DOCX_MAIN)), ("word/document.xml", b"<w/>")]
    )


def xlsx() -> bytes:
    return zipped([("[Content_Types].xml", content_types(XLSX_MAIN)), ("xl/workbook.xml", b"<x/>")])


def odt() -> bytes:
    return zipped(
        [("mimetype", b"application/vnd.oasis.opendocument.text"), ("content.xml", b"<o/>")]
    )


PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
TEXT = "Biên bản làm việc với gia đình, ngày 28/11.\nKý tên.\n".encode()

# Every accepted type: (content, a name for it, the stored type, what is stored).
ALLOWED = {
    "pdf": (PDF, "don.pdf", "application/pdf", PDF),
    "jpeg": (jpeg_with_metadata(), "anh.jpg", "image/jpeg", jpeg_clean()),
    "png": (png_with_metadata(), "anh.png", "image/png", png_clean()),
    "webp": (webp_with_metadata(), "anh.webp", "image/webp", webp_clean()),
    "text": (TEXT, "ghi-chu.txt", "text/plain", TEXT),
    "docx": (docx(), "bien-ban.docx", filetypes.DOCX.mime, docx()),
    "xlsx": (xlsx(), "bang.xlsx", filetypes.XLSX.mime, xlsx()),
    "odt": (odt(), "van-ban.odt", filetypes.ODT.mime, odt()),
}

# What must be refused: (content, name).
REFUSED = {
    "html": (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "trang.html"),
    "html named as text": (b"\n  <html><body>hi</body></html>", "ghi-chu.txt"),
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "hinh.svg"),
    "svg with xml prolog": (b'<?xml version="1.0"?>\n<svg onload="alert(1)"/>', "hinh.png"),
    "exe": (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200), "setup.exe"),
    "elf": (b"\x7fELF\x02\x01\x01" + bytes(100), "run"),
    "text renamed to pdf": (b"This is not a PDF at all.\n", "don.pdf"),
    "html renamed to pdf": (b"<html><body>fake</body></html>", "don.pdf"),
    "script named bat": (b"@echo off\r\ndel *.*\r\n", "run.bat"),
    "zip archive": (zipped([("a.txt", b"hello")]), "files.zip"),
    "word with macros": (
        zipped(
            [
                (
                    "[Content_Types].xml",
                    content_types("application/vnd.ms-word.document.macroEnabled.main+xml"),
                ),
                ("word/vbaProject.bin", b"\x00" * 10),
            ]
        ),
        "bien-ban.docm",
    ),
    "word with macros renamed": (
        zipped([("[Content_Types].xml", content_types(DOCX_MAIN)), ("word/vbaProject.bin", b"x")]),
        "bien-ban.docx",
    ),
    "utf-16 text": ("Xin chào".encode("utf-16"), "ghi-chu.txt"),
    "broken png": (png_clean()[:-5] + b"\x00\x00\x00\x00\x00", "anh.png"),
    "jpeg without image": (b"\xff\xd8\xff\xe1\x00\x04ab\xff\xd9", "anh.jpg"),
}


# --- Detection --------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ALLOWED)
def test_each_allowed_type_is_recognised_by_its_content(code):
    content, name, mime, _stored = ALLOWED[code]
    kind = filetypes.detect(io.BytesIO(content))
    assert kind.mime == mime
    attachments.check_name(name, kind)


@pytest.mark.parametrize("case", REFUSED)
def test_web_pages_programs_archives_and_mislabelled_files_are_refused(case):
    content, name = REFUSED[case]
    with pytest.raises(Invalid) as refused:
        stream = io.BytesIO(content)
        kind = filetypes.detect(stream)
        attachments.check_name(name, kind)
        b"".join(iter(lambda: filetypes.cleaned(stream, kind).read(4096), b""))
    assert "file" in refused.value.fields


def test_the_name_never_decides_the_type():
    kind = filetypes.detect(io.BytesIO(png_clean()))
    assert kind is filetypes.PNG
    with pytest.raises(Invalid):
        attachments.check_name("anh.jpg", kind)  # a PNG called .jpg is refused, not "converted"
    attachments.check_name("anh-khong-duoi", kind)  # no extension: accepted, downloaded as .png
    assert attachments.download_name("anh-khong-duoi", kind) == "anh-khong-duoi.png"


# --- Stripping --------------------------------------------------------------------------------


def _strip(content: bytes) -> bytes:
    stream = io.BytesIO(content)
    kind = filetypes.detect(stream)
    return filetypes.cleaned(stream, kind).read()


def test_jpeg_loses_exif_xmp_iptc_icc_comments_thumbnail_and_appended_data():
    stripped = _strip(jpeg_with_metadata())
    assert stripped == jpeg_clean()
    for secret in (*SECRETS, b"Exif", b"http://ns.adobe.com", b"ICC_PROFILE", b"Photoshop"):
        assert secret not in stripped


def test_progressive_jpeg_keeps_every_scan_and_drops_metadata_between_scans():
    second = segment(0xDA, b"\x01\x01\x00\x01\x3f\x00")
    scans = SOS + SCAN + DHT + segment(0xE1, EXIF) + second + b"\x55\xff\x00\x66"
    original = b"\xff\xd8" + DQT + segment(0xC2, SOF0[4:]) + DHT + scans + b"\xff\xd9"
    stripped = _strip(original)
    expected_scans = SOS + SCAN + DHT + second + b"\x55\xff\x00\x66"
    assert (
        stripped == b"\xff\xd8" + DQT + segment(0xC2, SOF0[4:]) + DHT + expected_scans + b"\xff\xd9"
    )


def test_adobe_colour_segment_is_kept_because_cmyk_images_need_it():
    adobe = segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x02")
    original = b"\xff\xd8" + adobe + DQT + SOF0 + DHT + SOS + SCAN + b"\xff\xd9"
    assert _strip(original) == original


class Trickle(io.BytesIO):
    """A stream that hands out a few bytes at a time, as a slow upload or a pipe might."""

    def __init__(self, data: bytes, step: int) -> None:
        super().__init__(data)
        self.step = step

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > self.step:
            size = self.step
        return super().read(size)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(min_size=0, max_size=3000), step=st.integers(min_value=1, max_value=70))
def test_jpeg_coded_data_is_copied_byte_for_byte_whatever_the_chunking(data, step):
    # Valid coded data: every 0xFF stuffed with 0x00, restart markers sprinkled in.
    scan = data.replace(b"\xff", b"\xff\x00").replace(b"\x07", b"\xff\xd3")
    stripped = b"".join(filetypes.strip_jpeg(Trickle(jpeg_with_metadata(scan), step)))
    assert stripped == jpeg_clean(scan)


def test_a_large_jpeg_is_copied_across_chunk_boundaries():
    scan = (bytes(range(256)) * 1200).replace(b"\xff", b"\xff\x00")  # ~300 KiB, many chunks
    assert _strip(jpeg_with_metadata(scan)) == jpeg_clean(scan)


def test_png_loses_text_time_and_exif_chunks_and_stays_valid():
    stripped = _strip(png_with_metadata())
    assert stripped == png_clean()
    for secret in (*SECRETS, b"tEXt", b"zTXt", b"iTXt", b"tIME", b"eXIf"):
        assert secret not in stripped


def test_png_with_a_wrong_checksum_is_refused():
    damaged = bytearray(png_clean())
    damaged[-20] ^= 0x01  # inside IDAT
    with pytest.raises(Invalid):
        _strip(bytes(damaged))


def test_webp_loses_exif_and_xmp_and_its_header_says_so():
    stripped = _strip(webp_with_metadata())
    assert stripped == webp_clean()
    assert struct.unpack("<I", stripped[4:8])[0] == len(stripped) - 8
    assert b"CANARY-XMP" not in stripped and b"GPS-21.0285N" not in stripped


def test_other_types_are_stored_exactly_as_they_came():
    for code in ("pdf", "text", "docx", "xlsx", "odt"):
        content, _name, _mime, stored = ALLOWED[code]
        assert _strip(content) == stored


# --- Names ------------------------------------------------------------------------------------


def test_a_name_loses_its_path_and_control_characters():
    assert (
        attachments.clean_name("C:\\Users\\lan\\Giấy chứng thương.pdf") == "Giấy chứng thương.pdf"
    )
    assert attachments.clean_name("../../etc/passwd\x00.txt") == "passwd.txt"
    assert len(attachments.clean_name("a" * 500 + ".pdf")) <= attachments.NAME_MAX
    assert attachments.clean_name("a" * 500 + ".pdf").endswith(".pdf")
    with pytest.raises(Invalid):
        attachments.clean_name("  ")


def test_the_ascii_fallback_name_folds_vietnamese_and_drops_quotes():
    assert attachments.ascii_name("Giấy chứng thương (Đơn).pdf") == "Giay chung thuong (Don).pdf"
    assert attachments.ascii_name('a"b\\c;d.txt') == "a_b_c_d.txt"
    assert attachments.ascii_name("越南.pdf") == "file.pdf"
