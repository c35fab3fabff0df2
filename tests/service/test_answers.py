"""Answers a client can rely on: every 4xx is `{"error": "one line"}`, the OpenAPI schema says so, and
no answer names the server's files. A real server on 127.0.0.1."""

import pytest

from tests.service.conftest import exchange, request
from tests.service.test_service import _bomb


def upload(run01, kind="image/png", data=None, field="image"):
    return [(field, "q.png", kind, data if data is not None else (run01 / "training" / "class04.png").read_bytes())]


def refusals(server, keys, run01):
    """(what, status, reason it must contain, the answer) of one request of each kind of refusal."""
    read, write = keys["read"], keys["write"]
    claim, bomb = upload(run01, field="image1"), upload(run01, data=_bomb())
    cases = [
        ("missing image", 422, "missing form field 'image'", "/identify", "POST", {"top": "3"}, None, read),
        ("missing name", 422, "missing form field 'name'", "/enroll", "POST", None, upload(run01), write),
        ("malformed top", 422, "form field 'top'", "/identify", "POST", {"top": "many"}, upload(run01), read),
        ("no key", 401, "API key", "/identify", "POST", None, upload(run01), None),
        ("read key writes", 403, "may read only", "/enroll", "POST", {"name": "x"}, upload(run01), read),
        ("unknown identity", 404, "no identity named 'nobody'", "/identities/nobody", "DELETE", None, None, write),
        ("unknown claim", 404, "no identity named 'nobody'", "/verify", "POST", {"name": "nobody"}, claim, read),
        ("unknown route", 404, "Not Found", "/nowhere", "GET", None, None, None),
        ("wrong method", 405, "Method Not Allowed", "/identify", "GET", None, None, read),
        ("too many pixels", 413, "declares 2,500,000,000 pixels", "/identify", "POST", None, bomb, read),
        ("not an image", 415, "not an image type", "/identify", "POST", None, upload(run01, "text/plain"), read),
    ]
    for what, status, reason, path, method, fields, files, key in cases:
        yield what, status, reason, exchange(server.url + path, method, fields=fields, files=files, key=key)


def test_every_refusal_is_one_json_shape_with_one_line(service, run01):
    server, keys = service
    for what, status, reason, (got, answer, headers) in refusals(server, keys, run01):
        assert got == status, (what, answer)
        assert isinstance(answer, dict) and set(answer) == {"error"}, (what, answer)
        assert reason in answer["error"] and "\n" not in answer["error"], (what, answer)
        if status == 401:
            assert headers["www-authenticate"] == "Bearer"


def test_the_openapi_schema_documents_the_refusals(service):
    server, _ = service
    status, spec = request(server.url + "/openapi.json")
    assert status == 200
    assert spec["components"]["schemas"]["Error"]["properties"] == {"error": {"title": "Error", "type": "string"}}
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    expected = {
        ("/verify", "post"): {"401", "413", "415", "422", "429"},
        ("/identify", "post"): {"401", "413", "415", "422", "429"},
        ("/enroll", "post"): {"401", "403", "413", "415", "422", "429"},
        ("/identities/{name}", "delete"): {"401", "403", "404", "422", "429"},
    }
    for (path, method), codes in expected.items():
        responses = spec["paths"][path][method]["responses"]
        assert codes <= set(responses), (path, sorted(responses))
        for code in codes:
            assert responses[code]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


@pytest.mark.parametrize("form", ["as given", "absolute"])
def test_no_answer_names_the_servers_files(service, run01, form):
    server, keys = service
    gallery = str(server.gallery if form == "as given" else server.gallery.resolve())
    answers = [exchange(server.url + path) for path in ("/health", "/openapi.json", "/", "/metrics")]
    answers += [answer for *_, answer in refusals(server, keys, run01)]
    for status, answer, headers in answers:
        text = f"{answer} {headers}"
        assert gallery not in text and str(server.gallery.parent) not in text, (status, answer)
