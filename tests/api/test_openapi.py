"""The OpenAPI document describes exactly the API routes that exist."""

import re

IGNORED = {"HEAD", "OPTIONS"}


def routes(app, prefix="/api/") -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(prefix) or rule.rule == "/api/openapi.json":
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        found.setdefault(path, set()).update(m.lower() for m in rule.methods - IGNORED)
    return found


def test_the_document_is_openapi_3_1(client):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"] and doc["info"]["version"]
    assert "Error" in doc["components"]["schemas"]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_every_api_route_is_documented_with_exactly_its_methods(app, client):
    doc = client.get("/api/openapi.json").get_json()
    documented = {path: {m for m in item if m in {"get", "post", "put", "patch", "delete"}}
                  for path, item in doc["paths"].items()}
    actual = routes(app)
    missing = {p: m for p, m in actual.items() if p not in documented}
    assert not missing, f"routes without documentation: {missing}"
    # calendar feeds outside /api are documented too: they must exist as well
    everything = routes(app, prefix="/")
    extra = sorted(p for p in documented if p not in everything)
    assert not extra, f"documented paths that do not exist: {extra}"
    wrong = {p: (sorted(everything[p]), sorted(documented[p])) for p in documented
             if everything[p] != documented[p]}
    assert not wrong, f"methods differ (route, document): {wrong}"


def test_every_reference_resolves(client):
    doc = client.get("/api/openapi.json").get_json()
    text = str(doc)
    for name in set(re.findall(r"#/components/schemas/([A-Za-z0-9_]+)", text)):
        assert name in doc["components"]["schemas"], name


def test_path_parameters_are_declared(client):
    doc = client.get("/api/openapi.json").get_json()
    for path, item in doc["paths"].items():
        names = set(re.findall(r"{([^}]+)}", path))
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            params = operation.get("parameters", []) + item.get("parameters", [])
            declared = {p["name"] for p in params if p.get("in") == "path"}
            assert names <= declared, (path, method, names - declared)
            assert "responses" in operation


def test_every_paginated_list_declares_page_and_per_page(client):
    doc = client.get("/api/openapi.json").get_json()
    lists = []
    for path, item in doc["paths"].items():
        get = item.get("get")
        schema = (get or {}).get("responses", {}).get("200", {}).get("content", {}).get(
            "application/json", {}).get("schema", {})
        if {"items", "page", "per_page", "total"} <= set(schema.get("properties", {})):
            lists.append(path)
            names = {p["name"] for p in get.get("parameters", []) if p.get("in") == "query"}
            assert {"page", "per_page"} <= names, path
            assert "400" in get["responses"], path  # bad_pagination
    assert "/api/v1/branches" in lists and "/api/v1/events" in lists
