"""Small real PDFs for the tests, written byte by byte: a text layer of Helvetica lines per page, the way a
print edition's PDF carries its text, or no text at all, the way a scan does."""

from __future__ import annotations


def make_pdf(pages: list[list[str]], info: dict[str, str] | None = None) -> bytes:
    """A PDF with one line of text per string, `pages` in order (an empty list is a page with no text), and the
    document information `info` (Title, Author, CreationDate)."""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    kids = []
    for lines in pages:
        ops = ["BT /F1 11 Tf 50 780 Td 14 TL"]
        ops += [f"({_escape(line)}) Tj T*" for line in lines]
        stream = "\n".join([*ops, "ET"]).encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n%b\nendstream" % (len(stream), stream))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents %d 0 R >>" % len(objects)
        )
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%b] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    trailer = b""
    if info:
        objects.append(
            b"<< %b >>" % b" ".join(b"/%b (%b)" % (k.encode(), _escape(v).encode("latin-1")) for k, v in info.items())
        )
        trailer = b" /Info %d 0 R" % len(objects)
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%b\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R%b >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, xref)
    return out


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
