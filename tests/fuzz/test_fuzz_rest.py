"""The REST fuzzer: schemathesis over the server's own OpenAPI document (GET /openapi.json), every route.

For each route it draws bodies that fit the schema and bodies that do not (wrong types, missing and
extra keys, huge numbers, odd strings), sends them with an app admin's token (the widest access, so the
handlers behind the checks are reached) and fails on:

- an HTTP 5xx, or an envelope with errCode 500 (the server's "internal error");
- a hang: no answer within ``REQUEST_TIMEOUT_S``;
- the server process exiting.

All routes run, and every failure is reported at the end with the smallest input hypothesis found.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from fuzz_harness import EXAMPLES, SEED, FuzzServer
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import GenerationMode

REQUEST_TIMEOUT_S = 10.0
TOKEN_ERRORS = range(1501, 1510)  # a fuzzed force_logout may end the admin's own token: fetch a new one


class Found(AssertionError):
    pass


def _describe(case: Any, detail: str) -> str:
    body = case.body if not isinstance(case.body, bytes) else repr(case.body[:500])
    text = json.dumps(body, ensure_ascii=True, default=repr)[:1500] if body is not None else "(none)"
    return f"{case.path}: {detail}\n  headers={dict(case.headers or {})!r:.300}\n  body={text}"


def test_the_api_document_is_for_app_admins_only(fuzz_server: FuzzServer) -> None:
    url = fuzz_server.api_url + "/openapi.json"
    assert httpx.get(url, timeout=15).status_code == 403
    fuzz_server.call("/user/user_register", {"users": [{"userID": "docreader", "nickname": "d"}]},
                     token=fuzz_server.admin_token())  # fmt: skip
    resp = httpx.get(url, headers={"token": fuzz_server.user_token("docreader")}, timeout=15)
    assert resp.status_code == 403 and resp.json()["errCode"] == 1002, resp.text
    doc = httpx.get(url, headers={"token": fuzz_server.admin_token()}, timeout=15).json()
    assert doc["openapi"].startswith("3.") and "/user/update_user_info" in doc["paths"]
    op = doc["paths"]["/user/update_user_info"]["post"]
    assert {p["name"] for p in op["parameters"]} == {"operationID", "token"}
    assert "token" not in {p["name"] for p in doc["paths"]["/auth/get_admin_token"]["post"]["parameters"]}
    info = doc["components"]["schemas"]["openim.sdkws.UserInfo"]["properties"]
    assert info["nickname"] == {"type": "string"} and info["createTime"]["type"] == "integer"


def test_no_rest_route_answers_500_hangs_or_kills_the_server(fuzz_server: FuzzServer) -> None:
    admin = [fuzz_server.admin_token()]
    resp = httpx.get(fuzz_server.api_url + "/openapi.json", headers={"token": admin[0]}, timeout=15)
    assert resp.status_code == 200, resp.text[:300]
    doc = resp.json()
    doc["servers"] = [{"url": fuzz_server.api_url}]
    schema = schemathesis.openapi.from_dict(doc)
    session = requests.Session()
    failures: dict[str, str] = {}
    started = time.monotonic()
    ran = 0

    def send(case: Any) -> None:
        try:
            reply = case.call(
                base_url=fuzz_server.api_url, session=session, headers={"token": admin[0]}, timeout=REQUEST_TIMEOUT_S
            )
        except requests.Timeout:
            raise Found(_describe(case, f"no answer within {REQUEST_TIMEOUT_S}s")) from None
        except requests.ConnectionError as exc:
            raise Found(_describe(case, f"connection failed: {exc}")) from None
        if not fuzz_server.alive:
            raise Found(_describe(case, f"the server exited with {fuzz_server.proc.returncode}"))
        if reply.status_code >= 500:
            raise Found(_describe(case, f"HTTP {reply.status_code}: {reply.text[:300]}"))
        try:
            env = reply.json()
        except ValueError:
            raise Found(_describe(case, f"HTTP {reply.status_code}, not JSON: {reply.text[:300]}")) from None
        code = env.get("errCode") if isinstance(env, dict) else None
        if code == 500:
            raise Found(_describe(case, f"errCode 500: {env}"))
        if code in TOKEN_ERRORS:
            admin[0] = fuzz_server.admin_token()

    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.generate, Phase.shrink],
                report_multiple_bugs=False,
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                send(case)

            if SEED is not None:
                run = seed(SEED)(run)
            ran += 1
            try:
                run()
            except Found as exc:
                failures.setdefault(operation.path, str(exc))
            if not fuzz_server.alive:
                pytest.fail(f"the server exited:\n{fuzz_server.log_tail()}\n" + "\n".join(failures.values()))
    print(f"REST fuzz: {ran} route x mode runs, {EXAMPLES} examples each, {time.monotonic() - started:.0f}s")
    logged = fuzz_server.internal_errors()
    assert not failures, (
        f"{len(failures)} routes failed:\n\n"
        + "\n\n".join(failures.values())
        + ("\n\nserver log:\n" + "\n".join(logged[:10]))
    )
    assert not logged, "the server logged internal errors:\n" + "\n".join(logged[:10])


def test_a_lone_surrogate_is_1001_on_every_route(fuzz_server: FuzzServer) -> None:
    """Every route, every top-level string field of its request: ``"\\ud800"`` is refused with 1001."""
    admin = fuzz_server.admin_token()
    doc = httpx.get(fuzz_server.api_url + "/openapi.json", headers={"token": admin}, timeout=15).json()
    schemas = doc["components"]["schemas"]
    wrong: list[str] = []
    sent = 0
    for path, item in sorted(doc["paths"].items()):
        body_schema = item["post"]["requestBody"]["content"]["application/json"]["schema"]
        ref = body_schema["allOf"][0]["$ref"] if "allOf" in body_schema else body_schema["$ref"]
        props = schemas[ref.rsplit("/", 1)[1]]["properties"]
        fields = [name for name, p in props.items() if p.get("type") == "string" and "format" not in p]
        for name in fields or ["unknownKey"]:
            body = json.dumps({name: "a\ud800b", "content": {}}).encode()  # ensure_ascii: sent as \ud800
            headers = {"operationID": f"sur-{sent}", "token": admin, "content-type": "application/json"}
            resp = httpx.post(fuzz_server.api_url + path, content=body, headers=headers, timeout=15)
            sent += 1
            env = resp.json()
            if resp.status_code >= 500 or env.get("errCode") != 1001:
                wrong.append(f"{path} {name}: HTTP {resp.status_code} {env}")
    assert sent > 100
    assert not wrong, "\n".join(wrong)
