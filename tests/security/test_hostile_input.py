"""Input no database could hold gets a French 4xx problem document, on every blueprint:
huge integers in a body or a path, lone surrogates, absurdly deep JSON. Nothing changes."""

from __future__ import annotations

import json

import pytest
from helpers import bearer, login

from engine.audit import service as audit

PROBLEM = "application/problem+json"
HUGE = 10 ** 30


def _problem(response, status: int, code: str) -> dict:
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    assert response.mimetype == PROBLEM
    body = json.loads(text)
    assert body["status"] == status and body["code"] == code
    assert body["title"] and body["detail"] and "Traceback" not in text
    return body


def _seq(db) -> int:
    with db.unit_of_work() as uow:
        return audit.last_seq(uow)


def _post_raw(client, headers, path: str, raw: str):
    return client.post(path, data=raw.encode("utf-8", "surrogatepass"),
                       headers={**headers, "Content-Type": "application/json"})


# Endpoints of three API modules (runtime, itp, consent) that read a JSON body.
BODIES = [
    ("demo-is", "/api/v1/instances", {"process_id": "violence_conjugale", "case_id": HUGE}),
    ("demo-itp", "/api/v1/itp/sessions", {"starts_at": "2030-01-07T10:00:00+01:00",
                                          "capacity": HUGE, "place": "Salle A"}),
    ("demo-is", "/api/v1/tasks/1/complete", {"data": {"n": HUGE}}),
]


@pytest.mark.parametrize(("user", "path", "body"), BODIES)
def test_an_integer_beyond_64_bits_in_a_body_is_a_400(client, db, user, path, body):
    headers = bearer(db, user)
    seq = _seq(db)
    problem = _problem(client.post(path, json=body, headers=headers), 400, "invalid_json")
    assert "entier" in problem["detail"]
    assert _seq(db) == seq  # refused before authentication: not even a token use recorded


@pytest.mark.parametrize("path", ["/api/v1/instances", "/api/v1/itp/sessions",
                                  "/api/v1/consents/1/withdraw"])
def test_a_lone_surrogate_in_json_is_a_400(client, db, path):
    raw = '{"process_id": "\\ud800", "place": "\\udfff", "reason": "\\ud800"}'
    problem = _problem(_post_raw(client, bearer(db, "demo-is"), path, raw), 400,
                       "invalid_json")
    assert "Unicode" in problem["detail"]


def test_a_lone_surrogate_in_a_key_is_a_400(client, db):
    raw = '{"data": {"\\udc00": 1}}'
    _problem(_post_raw(client, bearer(db, "demo-is"), "/api/v1/tasks/1/complete", raw), 400,
             "invalid_json")


def test_a_proper_surrogate_pair_is_accepted_as_text(client, db):
    # An emoji written as an escaped pair is valid Unicode: the request goes through to
    # the view (here an unknown process, a 4xx of its own), not the JSON guard.
    raw = '{"process_id": "\\ud83d\\ude00", "case_id": null}'
    response = _post_raw(client, bearer(db, "demo-is"), "/api/v1/instances", raw)
    assert response.status_code != 400 or json.loads(response.data)["code"] != "invalid_json"
    assert response.status_code < 500


@pytest.mark.parametrize("depth", [65, 5000])
@pytest.mark.parametrize("path", ["/api/v1/instances", "/api/v1/itp/sessions",
                                  "/api/v1/tasks/1/complete"])
def test_deeply_nested_json_is_a_400(client, db, path, depth):
    raw = '{"data": ' + "[" * depth + "]" * depth + "}"
    problem = _problem(_post_raw(client, bearer(db, "demo-is"), path, raw), 400,
                       "invalid_json")
    assert "imbriqué" in problem["detail"]


def test_nesting_within_the_limit_reaches_the_view(client, db):
    raw = '{"data": {"x": ' + "[" * 60 + "]" * 60 + "}}"
    response = _post_raw(client, bearer(db, "demo-is"), "/api/v1/tasks/999999/complete", raw)
    _problem(response, 404, json.loads(response.data)["code"])
    assert json.loads(response.data)["code"] != "invalid_json"


@pytest.mark.parametrize("path", ["/api/v1/instances/123456789012345678901234",
                                  "/api/v1/tasks/123456789012345678901234",
                                  "/api/v1/consents/123456789012345678901234",
                                  "/api/v1/cases/123456789012345678901234/pieces",
                                  "/api/v1/deliveries/123456789012345678901234"])
def test_a_24_digit_id_in_a_path_is_an_unknown_address(client, db, path):
    response = client.get(path, headers=bearer(db, "demo-is"))
    assert _problem(response, 404, json.loads(response.data)["code"])["code"].endswith(
        "not_found")


def test_a_24_digit_id_in_a_page_address_is_a_french_404(client, db):
    login(client, "demo-is")
    response = client.get("/taches/123456789012345678901234")
    assert response.status_code == 404
    assert '<html lang="fr">' in response.get_data(as_text=True)


def test_the_largest_id_is_looked_up_and_not_found(client, db):
    response = client.get(f"/api/v1/tasks/{2 ** 31 - 1}", headers=bearer(db, "demo-is"))
    assert _problem(response, 404, "task_not_found")
    # One more than a column holds is an unknown id too: looked up as 0, no overflow.
    response = client.get(f"/api/v1/tasks/{2 ** 31}", headers=bearer(db, "demo-is"))
    assert _problem(response, 404, "task_not_found")


def test_an_out_of_range_id_answers_alike_whatever_the_method(client, db):
    # Werkzeug answered 405 when a converter refused the id and another method's rule
    # shared the path (GET and POST /consents/{id}/evidence).
    huge = "/api/v1/consents/123456789012345678901234/evidence"
    get = client.get(huge, headers=bearer(db, "demo-is"))
    post = client.post(huge, headers=bearer(db, "demo-is"), data={},
                       content_type="multipart/form-data")
    assert get.status_code == 404 and post.status_code in (404, 422)
    assert client.get("/api/v1/consents/" + "9" * 40 + "/evidence",
                      headers=bearer(db, "demo-is")).status_code == 404


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/instances", {"process_id": "violence_conjugale", "case_id": 2 ** 40}),
    ("/api/v1/instances", {"process_id": "violence_conjugale", "case_id": 2 ** 63 - 1})])
def test_a_64_bit_id_in_a_body_is_a_4xx_on_both_engines(client, db, path, body):
    response = client.post(path, json=body, headers=bearer(db, "demo-is"))
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM


def test_malformed_json_is_a_french_400(client, db):
    _problem(_post_raw(client, bearer(db, "demo-is"), "/api/v1/instances", '{"a": '), 400,
             "invalid_json")
