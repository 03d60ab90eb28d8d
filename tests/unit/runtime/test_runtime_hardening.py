"""Hardened reading: an uploaded diagram is code, and XML is an attack surface."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.runtime.errors import ModelRejected, Problem
from engine.runtime.loader import MAX_DIAGRAM_BYTES, load_model, parse_specs

MINIMAL = """<?xml version="1.0" encoding="{encoding}"?>
{doctype}<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="Definitions_1" targetNamespace="http://relais.test/bpmn">
  <bpmn:process id="simple" name="{name}" isExecutable="true">
    <bpmn:documentation>{documentation}</bpmn:documentation>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def diagram(
    *,
    doctype: str = "",
    documentation: str = "",
    name: str = "Simple",
    encoding: str = "UTF-8",
) -> bytes:
    text = MINIMAL.format(
        doctype=doctype, documentation=documentation, name=name, encoding=encoding
    )
    return text.encode(encoding)


def refused(data: bytes, tmp_path: Path, name: str = "d.bpmn") -> tuple[Problem, ...]:
    with pytest.raises(ModelRejected) as caught:
        load_model({name: data}, tmp_path)
    report = caught.value.report()
    assert "Traceback" not in report
    return caught.value.problems


def test_minimal_diagram_loads(tmp_path: Path) -> None:
    model = load_model({"d.bpmn": diagram()}, tmp_path)
    assert model.process_ids == ("simple",)


def test_iso_8859_1_declared_encoding_is_read(tmp_path: Path) -> None:
    data = diagram(name="Procédure d'orientation", encoding="ISO-8859-1")
    assert "é".encode("latin-1") in data

    model = load_model({"latin1.bpmn": data}, tmp_path)

    assert model.process_names == {"simple": "Procédure d'orientation"}


def test_external_entity_is_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("MOT-DE-PASSE-ULTRA-SECRET", encoding="utf-8")
    targets = (secret.as_uri(), "file:///etc/passwd")
    for target in targets:
        data = diagram(
            doctype=f'<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM "{target}">]>\n',
            documentation="&xxe;",
        )
        with pytest.raises(ModelRejected) as caught:
            load_model({"xxe.bpmn": data}, tmp_path)

        (problem,) = caught.value.problems
        assert problem.element_id is None
        assert "DOCTYPE" in problem.reason
        everything = caught.value.report() + repr(caught.value.problems)
        assert "MOT-DE-PASSE-ULTRA-SECRET" not in everything
        assert "root:" not in everything


def test_billion_laughs_is_refused(tmp_path: Path) -> None:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    data = diagram(doctype=f"<!DOCTYPE bpmn:definitions [{entities}]>\n", documentation="&lol9;")

    (problem,) = refused(data, tmp_path)

    assert "DOCTYPE" in problem.reason


def test_doctype_without_entities_is_refused(tmp_path: Path) -> None:
    (problem,) = refused(diagram(doctype="<!DOCTYPE bpmn:definitions>\n"), tmp_path)
    assert "DOCTYPE" in problem.reason


def test_doctype_in_utf16_is_refused(tmp_path: Path) -> None:
    data = diagram(
        doctype='<!DOCTYPE x [<!ENTITY a "b">]>\n', documentation="&a;", encoding="UTF-16"
    )
    (problem,) = refused(data, tmp_path)
    assert "DOCTYPE" in problem.reason


def test_oversize_file_is_refused_before_parsing(tmp_path: Path) -> None:
    data = diagram()
    padding = b" " * (MAX_DIAGRAM_BYTES + 1 - len(data))
    big = data.replace(b"<bpmn:process", padding + b"<bpmn:process", 1)
    assert len(big) == MAX_DIAGRAM_BYTES + 1

    (problem,) = refused(big, tmp_path)

    assert problem.file == "d.bpmn"
    assert "2 Mio" in problem.reason


def test_file_at_the_size_limit_is_accepted(tmp_path: Path) -> None:
    data = diagram()
    padding = b" " * (MAX_DIAGRAM_BYTES - len(data))
    exact = data.replace(b"<bpmn:process", padding + b"<bpmn:process", 1)
    assert load_model({"d.bpmn": exact}, tmp_path).process_ids == ("simple",)


def test_malformed_xml_is_refused_with_its_line(tmp_path: Path) -> None:
    data = diagram().replace(b"</bpmn:process>", b"</bpmn:processus>")

    (problem,) = refused(data, tmp_path)

    assert problem.element_id is None
    assert problem.line == 9
    assert "ligne 9" in problem.reason
    assert "XML bien formé" in problem.reason


@pytest.mark.parametrize("data", [b"", b"not xml at all", b"\x00\xff\xfe garbage"])
def test_garbage_is_refused(tmp_path: Path, data: bytes) -> None:
    (problem,) = refused(data, tmp_path)
    assert problem.reason


def test_every_file_is_checked_before_refusing(tmp_path: Path) -> None:
    files = {
        "a.bpmn": diagram(doctype="<!DOCTYPE x>\n"),
        "b.bpmn": b"<broken",
        "c.txt": diagram(),
    }
    with pytest.raises(ModelRejected) as caught:
        load_model(files, tmp_path)
    assert [problem.file for problem in caught.value.problems] == ["a.bpmn", "b.bpmn", "c.txt"]


def test_non_bpmn_root_is_refused(tmp_path: Path) -> None:
    (problem,) = refused(b"<?xml version='1.0'?><html><body/></html>", tmp_path)
    assert "BPMN 2.0" in problem.reason


def test_no_file_at_all(tmp_path: Path) -> None:
    with pytest.raises(ModelRejected) as caught:
        load_model({}, tmp_path)
    assert "aucun fichier" in caught.value.problems[0].reason.lower()


def test_content_that_is_not_bytes_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelRejected):
        load_model({"d.bpmn": diagram().decode()}, tmp_path)  # type: ignore[dict-item]


def test_parse_specs_is_hardened_too(tmp_path: Path) -> None:
    data = diagram(
        doctype='<!DOCTYPE x [<!ENTITY a SYSTEM "file:///etc/passwd">]>\n', documentation="&a;"
    )
    with pytest.raises(ModelRejected) as caught:
        parse_specs({"d.bpmn": data})
    assert "DOCTYPE" in caught.value.problems[0].reason
