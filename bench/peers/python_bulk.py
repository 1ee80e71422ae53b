#!/usr/bin/env python3
"""The Python peer for `cargo xtask bench`: the seed client's stack, used the way it uses it.

pydantic v2 models for the bulk request and response, requests with a session, chunks of
1,000 operations, a fresh time stamp and signature per request. Reads NDJSON operations
(user-creation POSTs) and sends them to a mAP Core bulk endpoint.

    MAP_ACCESS_TOKEN=… MAP_CLIENT_SECRET=… python3 python_bulk.py BASE_URL FILE.ndjson

Prints one JSON summary line: {"total", "succeeded", "failed", "requests"}.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import typing as t

import requests
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

USER_SCHEMA = "urn:ietf:params:scim:schemas:mace:gakunin.jp:core:2.0:User"
BULK_REQUEST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
# Operations per request: 1,000 as the seed client sends them, or MAP_PEER_CHUNK.
CHUNK = int(os.environ.get("MAP_PEER_CHUNK", "1000"))

camel = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Eppn(BaseModel):
    model_config = camel
    value: str
    idp_entity_id: str | None = None


class Email(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: str


class MapUser(BaseModel):
    model_config = camel
    schemas: list[str] = [USER_SCHEMA]
    id: str | None = None
    external_id: str | None = None
    user_name: str | None = None
    preferred_language: t.Literal["en", "ja", ""] | None = None
    edu_person_principal_names: list[Eppn] | None = None
    emails: list[Email] | None = None


class MapError(BaseModel):
    model_config = camel
    schemas: list[str] = []
    status: str
    scim_type: str | None = None
    detail: str | None = None


class BulkOperation(BaseModel):
    model_config = camel
    method: t.Literal["POST", "PUT", "PATCH", "DELETE"]
    bulk_id: str | None = None
    path: str | None = None
    data: MapUser | None = None
    location: str | None = None
    response: MapUser | MapError | None = None
    status: str | None = None


class BulkRequestPayload(BaseModel):
    model_config = camel
    schemas: list[str] = [BULK_REQUEST_SCHEMA]
    operations: list[BulkOperation] = Field(default_factory=list, serialization_alias="Operations")
    fail_on_errors: int | None = None


class BulkResponse(BaseModel):
    model_config = camel
    schemas: list[str] = [BULK_RESPONSE_SCHEMA]
    operations: list[BulkOperation] = Field(default_factory=list, validation_alias="Operations")


def compute_signature(client_secret: str, access_token: str, time_stamp: str) -> str:
    return hashlib.sha256((client_secret + access_token + time_stamp).encode("utf-8")).hexdigest()


def post(session: requests.Session, url: str, operations: list[BulkOperation], token: str, secret: str) -> BulkResponse:
    time_stamp = str(int(time.time()))
    payload = BulkRequestPayload(operations=operations).model_dump(mode="json", by_alias=True, exclude_none=True)
    body = {"request": {"time_stamp": time_stamp, "signature": compute_signature(secret, token, time_stamp)}} | payload
    response = session.post(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    if response.status_code != 200:
        raise SystemExit(f"bulk request answered {response.status_code}: {response.text[:200]}")
    return BulkResponse.model_validate_json(response.text)


def main() -> None:
    base_url, path = sys.argv[1], sys.argv[2]
    token, secret = os.environ["MAP_ACCESS_TOKEN"], os.environ["MAP_CLIENT_SECRET"]
    url = base_url.rstrip("/") + "/api/v2/Bulk"
    session = requests.Session()
    total = succeeded = failed = requests_sent = 0
    chunk: list[BulkOperation] = []

    def flush() -> None:
        nonlocal succeeded, failed, requests_sent
        result = post(session, url, chunk, token, secret)
        requests_sent += 1
        for operation in result.operations:
            if operation.status and operation.status.startswith("2"):
                succeeded += 1
            else:
                failed += 1
        chunk.clear()

    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            chunk.append(BulkOperation.model_validate_json(line))
            total += 1
            if len(chunk) == CHUNK:
                flush()
    if chunk:
        flush()
    print(json.dumps({"total": total, "succeeded": succeeded, "failed": failed, "requests": requests_sent}))


if __name__ == "__main__":
    main()
