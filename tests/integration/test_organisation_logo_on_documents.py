"""An organisation's logo, uploaded by an administrator, heads every document it issues
(above the letterhead, on each page); without a logo the header is text only."""

from __future__ import annotations

import io
import struct
import zlib

import docx

from engine.consent import mentions as issued
from engine.db import transaction
from engine.documents.build import new_document, stamp
from engine.identity import organisations
from engine.identity import service as identity


def tiny_png() -> bytes:
    """A valid 1×1 PNG, written by hand (python-docx reads its size)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x1d\x3f\x72")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) \
        + chunk(b"IEND", b"")


def _blank() -> bytes:
    out = io.BytesIO()
    document = new_document("Essai")
    document.add_paragraph("Corps du document.")
    document.save(out)
    return out.getvalue()


def _header_xml(content: bytes) -> str:
    return docx.Document(io.BytesIO(content)).sections[0].header._element.xml


def test_the_logo_heads_the_documents_of_its_organisation(db):
    with db.unit_of_work() as uow:
        org = identity.get_organisation(uow, "cmp-demo")
        without = issued.mentions_for(uow, org, None, None, uow.now())
    assert without.logo is None
    plain = stamp(_blank(), without)
    assert "graphicData" not in _header_xml(plain)
    assert "Centre médico-psychologique (démo)" in _header_xml(plain)

    with transaction(db) as uow:
        admin = identity.principal_for(identity.get_user(uow, "demo-admin"))
        organisations.set_logo(uow, admin, "cmp-demo", tiny_png())
    with db.unit_of_work() as uow:
        org = identity.get_organisation(uow, "cmp-demo")
        with_logo = issued.mentions_for(uow, org, None, None, uow.now())
    assert with_logo.logo == tiny_png()
    header = _header_xml(stamp(_blank(), with_logo))
    assert "graphicData" in header and "Centre médico-psychologique (démo)" in header
    assert header.index("graphicData") < header.index("Centre médico-psychologique")
