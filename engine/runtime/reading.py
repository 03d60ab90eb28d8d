"""Reading XML safely: the one hardened XML parser of the code base.

Guarantees:
- no parser ever sees a DTD: bytes declaring a DOCTYPE or an ENTITY (in any usual
  encoding) are refused before parsing, and the parsed document is checked again;
- entities are never resolved, nothing is fetched from the network, huge trees are refused;
- a process model's files are at most `MAX_DIAGRAM_BYTES` each, and each is a BPMN 2.0
  or DMN (1.1 to 1.3) document; every file is read before any problem is reported.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from lxml import etree

from engine.runtime.errors import ModelRejected, Problem
from engine.runtime.problems import file_problem, shorten
from engine.runtime.vocabulary import BPMN_NS, DMN_NAMESPACES

MAX_DIAGRAM_BYTES = 2 * 1024 * 1024


_HARDENING_REFUSAL = (
    "le fichier contient une déclaration DOCTYPE ou des entités XML, refusées pour des "
    "raisons de sécurité : ré-exportez le diagramme depuis le modeleur"
)


@dataclass(frozen=True)
class Document:
    file: str
    kind: Literal["bpmn", "dmn"]
    root: etree._Element


def content_hash(files: Mapping[str, bytes]) -> str:
    """SHA-256 hex of the sorted (name, bytes) pairs, each length-prefixed (unambiguous)."""
    digest = hashlib.sha256()
    for name in sorted(files):
        for chunk in (name.encode("utf-8"), bytes(files[name])):
            digest.update(len(chunk).to_bytes(8, "big"))
            digest.update(chunk)
    return digest.hexdigest()


# --- Hardened reading --------------------------------------------------------------------


def read_all(files: Mapping[str, bytes]) -> list[Document]:
    """Read every file safely; raise ModelRejected if any cannot be read."""
    if not files:
        raise ModelRejected(
            [file_problem("", "aucun fichier fourni : joignez au moins un diagramme .bpmn")]
        )
    documents: list[Document] = []
    problems: list[Problem] = []
    for name in sorted(files):
        result = _read_document(name, files[name])
        if isinstance(result, Problem):
            problems.append(result)
        else:
            documents.append(result)
    if not problems and not any(doc.kind == "bpmn" for doc in documents):
        problems.append(
            file_problem(
                "",
                "aucun diagramme .bpmn fourni : une table de décision .dmn ne se déploie pas seule",
            )
        )
    if problems:
        raise ModelRejected(problems)
    return documents


def _read_document(name: str, data: bytes) -> Document | Problem:
    kind = _file_kind(name)
    if kind is None:
        return file_problem(
            name,
            "type de fichier non pris en charge : seuls les fichiers .bpmn et .dmn sont acceptés",
        )
    if not isinstance(data, bytes | bytearray | memoryview):
        return file_problem(
            name, "contenu illisible : le fichier doit être transmis tel quel (octets)"
        )
    raw = bytes(data)
    if len(raw) > MAX_DIAGRAM_BYTES:
        return file_problem(
            name,
            f"le fichier fait {len(raw)} octets, au-delà de la "
            "limite de 2 Mio : allégez le diagramme ou découpez-le en plusieurs "
            "processus",
        )
    try:
        root = parse_xml(raw)
    except UnsafeXml:
        return file_problem(name, _HARDENING_REFUSAL)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or None
        where = f" (ligne {line})" if line else ""
        return file_problem(
            name,
            f"le fichier n'est pas un XML bien formé{where} : "
            "corrigez-le ou ré-exportez-le depuis le modeleur (détail technique : "
            f"{shorten(exc.msg or '')})",
            line,
        )
    return _check_root(name, kind, root)


class UnsafeXml(ValueError):
    """The bytes declare a DOCTYPE or entities: refused, whatever else they hold."""


def parse_xml(raw: bytes) -> etree._Element:
    """Parse `raw` with the hardened parser (the only XML parser of Relais).

    Raises UnsafeXml when the bytes declare a DTD or entities, `etree.XMLSyntaxError` when
    they are not well-formed XML. Comments and processing instructions are dropped.
    """
    if _declares_doctype(raw):
        raise UnsafeXml
    root = etree.fromstring(raw, _xml_parser())
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise UnsafeXml  # second net: a declaration the byte scan missed
    return root


def _file_kind(name: str) -> Literal["bpmn", "dmn"] | None:
    lowered = name.lower() if isinstance(name, str) else ""
    if lowered.endswith(".bpmn"):
        return "bpmn"
    if lowered.endswith(".dmn"):
        return "dmn"
    return None


def _declares_doctype(raw: bytes) -> bool:
    """True if the bytes hold a DOCTYPE or ENTITY declaration in any usual encoding.

    Checked on the raw bytes so that no parser ever sees a DTD; the docinfo check after
    parsing is a second net.
    """
    encodings = ("ascii", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
    markers = ("<!DOCTYPE", "<!ENTITY")
    return any(marker.encode(enc) in raw for marker in markers for enc in encodings)


def _xml_parser() -> etree.XMLParser:
    # A fresh parser per file: lxml parsers are not meant to be shared across threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _check_root(name: str, kind: str, root: etree._Element) -> Document | Problem:
    qname = etree.QName(root)
    if kind == "bpmn" and (qname.namespace, qname.localname) != (BPMN_NS, "definitions"):
        return file_problem(
            name,
            "ce fichier n'est pas un diagramme BPMN 2.0 "
            "(l'élément racine doit être bpmn:definitions)",
        )
    if kind == "dmn" and (
        qname.namespace not in DMN_NAMESPACES or qname.localname != "definitions"
    ):
        return file_problem(
            name,
            "ce fichier n'est pas une table de décision DMN prise en charge (DMN 1.1, 1.2 ou 1.3)",
        )
    return Document(name, "bpmn" if kind == "bpmn" else "dmn", root)

