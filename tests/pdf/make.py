"""Makes the encrypted PDFs the tests read: one small statement, encrypted by pypdf (an
independent writer) in each of the standard security handler's revisions, without a user
password (anyone opens it; the owner's password restricts printing and copying, as banks'
statements are sent), and once with a user password.

    python3 -m venv target/pdfenc && target/pdfenc/bin/pip install pypdf cryptography
    target/pdfenc/bin/python tests/pdf/make.py tests/pdf
"""

import os
import subprocess
import sys
import tempfile
import zlib

from pypdf import PdfReader, PdfWriter

PAGE = (
    b"BT /F1 11 Tf 72 720 Td (Account statement, December) Tj 0 -14 Td "
    b"[(OPENAI_API_KEY=sk-proj-Tq8vN2) -20 (xLr5Wb7Kc3Hd9Fg1Jm4)] TJ ET"
)
NOTE = "Reviewer's note: ANTHROPIC_API_KEY=sk-ant-api03-Yh7Gq2Lw9Xc4Vb1Nm6Kd3Pt8Rs5"
CLEAN = b"BT /F1 11 Tf 72 720 Td (Account statement, December: no activity) Tj ET"


def plain(page: bytes, note: str) -> bytes:
    data = zlib.compress(page)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> /Annots [6 0 R] >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Annot /Subtype /Text /Rect [72 600 90 618] /Contents ("
        + note.encode() + b") >>",
    ]
    out = b"%PDF-1.7\n"
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


def planted(source: bytes, donor_path: str) -> bytes:
    """`source` with, in comments at its end (where no reader looks), the donor's encryption
    dictionary and file identifier: a file that seems encrypted, with no password, and is not."""
    import re

    donor = open(donor_path, "rb").read()
    number = re.search(rb"/Encrypt\s+(\d+)\s+0\s+R", donor).group(1)
    start = donor.index(number + b" 0 obj") + len(number + b" 0 obj")
    dictionary = donor[start : donor.index(b"endobj", start)].strip()
    ids = re.search(rb"/ID\s*\[[^\]]*\]", donor).group(0)
    # After the file's end, and a second end that points readers at its own table.
    xref = re.findall(rb"startxref\s+(\d+)", source)[-1]
    return (
        source
        + b"% 99 0 obj "
        + dictionary
        + b"\n% trailer << /Encrypt 99 0 R "
        + ids
        + b" >>\nstartxref\n"
        + xref
        + b"\n%%EOF\n"
    )


def encrypt(source: bytes, path: str, algorithm: str, user: str = "") -> None:
    import io

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(source)))
    writer.encrypt(user_password=user, owner_password="bank-owner", algorithm=algorithm)
    with open(path, "wb") as f:
        writer.write(f)
    # Checked by the independent reader: it opens with the password given and shows the text.
    reader = PdfReader(path)
    assert reader.is_encrypted and reader.decrypt(user) != 0


if __name__ == "__main__":
    out = sys.argv[1]
    secret = plain(PAGE, NOTE)
    with open(f"{out}/plain.pdf", "wb") as f:
        f.write(secret)
    for name, algorithm in [
        ("rc4-40", "RC4-40"),
        ("rc4-128", "RC4-128"),
        ("aes-128", "AES-128"),
        ("aes-256-r5", "AES-256-R5"),
        ("aes-256", "AES-256"),
    ]:
        encrypt(secret, f"{out}/{name}.pdf", algorithm)
    encrypt(plain(CLEAN, "Checked."), f"{out}/clean-aes-256.pdf", "AES-256")
    encrypt(plain(CLEAN, "Checked."), f"{out}/clean-rc4-128.pdf", "RC4-128")
    encrypt(secret, f"{out}/user-password.pdf", "AES-256", user="s3cret")
    with open(f"{out}/planted-encryption.pdf", "wb") as f:
        f.write(planted(secret, f"{out}/aes-128.pdf"))
    with tempfile.TemporaryDirectory() as scratch:
        source = os.path.join(scratch, "plain.pdf")
        with open(source, "wb") as f:
            f.write(secret)
        for name, args in [
            ("qpdf-aes-256", ["--object-streams=generate", "--encrypt", "", "bank-owner", "256"]),
            (
                "qpdf-aes-128",
                ["--allow-weak-crypto", "--object-streams=generate", "--encrypt", "", "bank-owner", "128", "--use-aes=y"],
            ),
            (
                "qpdf-rc4-128",
                ["--allow-weak-crypto", "--encrypt", "", "bank-owner", "128", "--use-aes=n"],
            ),
            (
                "qpdf-rc4-user-password",
                ["--allow-weak-crypto", "--encrypt", "s3cret", "bank-owner", "128", "--use-aes=n"],
            ),
            (
                "qpdf-aes-128-user-password",
                ["--allow-weak-crypto", "--encrypt", "s3cret", "bank-owner", "128", "--use-aes=y"],
            ),
        ]:
            subprocess.run(["qpdf", *args, "--", source, f"{out}/{name}.pdf"], check=True)
