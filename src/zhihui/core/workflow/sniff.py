"""What a file is, from its bytes: evidence attachments are kept with the media type their
content shows, and a file whose name claims another type (a .pdf that is a Windows program)
is refused. Only kinds a person would send as evidence are accepted."""

from __future__ import annotations

import io
import zipfile

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
WEBP = "image/webp"
TEXT = "text/plain"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OFD = "application/ofd"  # GB/T 33190, China's electronic document format
OLE = "application/x-ole-storage"  # .doc / .xls (Office 97-2003)

ACCEPTED = (PDF, PNG, JPEG, GIF, WEBP, TEXT, DOCX, XLSX, OFD, OLE)

# what a file name's extension claims
EXTENSIONS = {
    "pdf": PDF, "png": PNG, "jpg": JPEG, "jpeg": JPEG, "gif": GIF, "webp": WEBP,
    "txt": TEXT, "csv": TEXT, "docx": DOCX, "xlsx": XLSX, "ofd": OFD, "doc": OLE, "xls": OLE,
}

# programs and archives: named so the refusal can say what the file really is
DANGEROUS = (
    (b"MZ", "application/x-msdownload"),
    (b"\x7fELF", "application/x-elf"),
    (b"\xcf\xfa\xed\xfe", "application/x-mach-binary"),
    (b"\xfe\xed\xfa\xcf", "application/x-mach-binary"),
    (b"#!", "text/x-shellscript"),
    (b"Rar!", "application/vnd.rar"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"\x1f\x8b", "application/gzip"),
)


def sniff(content: bytes) -> str:
    """The media type the bytes show; ``application/octet-stream`` when unknown."""
    head = content[:16]
    for magic, kind in DANGEROUS:
        if head.startswith(magic):
            return kind
    if content[:1024].lstrip(b"\r\n\t ").startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return OLE
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(content)
    if _is_text(content):
        return TEXT
    return "application/octet-stream"


def _zip_kind(content: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return "application/octet-stream"
    if "[Content_Types].xml" in names:
        if any(n.startswith("word/") for n in names):
            return DOCX
        if any(n.startswith("xl/") for n in names):
            return XLSX
    if "OFD.xml" in names:
        return OFD
    return "application/zip"


def _is_text(content: bytes) -> bool:
    """UTF-8 or GB18030 text without control characters other than tab and line breaks."""
    sample = content[:65536]
    if not sample:
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            text = sample.decode(encoding)
        except UnicodeDecodeError:
            # a multi-byte character cut at the sample's end is still text
            try:
                text = sample[:-3].decode(encoding) if len(sample) == 65536 else None
            except UnicodeDecodeError:
                text = None
            if text is None:
                continue
        if all(c in "\t\r\n\f" or ord(c) >= 32 for c in text.lstrip("\ufeff")):
            return True
    return False


def claimed(filename: str) -> str | None:
    """The media type a file name claims by its extension (None: no known extension)."""
    if "." not in filename:
        return None
    return EXTENSIONS.get(filename.rsplit(".", 1)[1].lower())
