#!/usr/bin/env python3
"""A strict, hostile mAP Core Bulk endpoint, written apart from map-sim (standard library only).

It follows mAP Core API V2 and RFC 7644 section 3.7 as documented, not map-sim's code:

- Bearer token and `request.signature` = hex(sha256(client_secret + access_token + time_stamp))
  within 300 s, else 401;
- `schemas` must be exactly the BulkRequest URN; `Operations` at most MAX_OPERATIONS, else 413;
- each operation: method POST/PUT/PATCH/DELETE, a path, data on POST/PUT/PATCH; a bulkId, if
  any, unique (mAP Core's own client sends POSTs without one); `location`, `response` and
  `status` only as null; a malformed operation refuses the whole request with 400 and applies
  nothing;
- `bulkId:X` in a path or in data resolves only to a POST earlier in the same request
  (references to earlier requests must arrive already substituted);
- Users only: POST /Users (an ePPN belongs to one user, 409 otherwise; userName is a display
  name), PUT/PATCH/DELETE /Users/{id}; PATCH data a PatchOp document or one bare operation;
- answers as mAP Core's: a missing resource is 400 invalidValue `'X' Not Found`; each result
  echoes method, bulkId (if sent), path (as sent) and data; a DELETE's is method, path, status.

Faults come from a seeded schedule, so a run is reproducible: 503 or 429 with Retry-After: 0
(nothing applied), and, after applying the request, a dropped connection, a 500, a 502 or a
truncated body. GET /stats returns what was applied, for the test to check.

Usage: strict_map_server.py TOKEN SECRET SEED FAULT_PERCENT
Prints its base URL on the first line of stdout.
"""

import hashlib
import hmac
import json
import random
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
MAX_OPERATIONS = 20

TOKEN, SECRET, SEED, FAULT_PERCENT = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
FAULTS = ["503", "429", "drop-after", "500-after", "502-after", "truncate-after"]

lock = threading.Lock()
rng = random.Random(SEED)
users = {}  # id -> resource
eppns = {}  # ePPN -> id
next_id = [1]
stats = {
    "requests": 0,
    "faults": {},
    # userName -> how many POST operations for it reached this server and were processed
    "posts_received": {},
    "created": {},  # userName -> how many times it was created
    "deleted": [],  # ids
    "applied": 0,
}


class Refusal(Exception):
    def __init__(self, status, detail):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def error_doc(status, detail, scim_type="invalidValue"):
    return {"schemas": [ERROR], "status": str(status), "scimType": scim_type, "detail": detail}


def check_auth(handler, body):
    auth = handler.headers.get("Authorization", "")
    if auth != "Bearer " + TOKEN:
        raise Refusal(401, "bad bearer token")
    request = body.get("request")
    if not isinstance(request, dict):
        raise Refusal(401, "no request object")
    stamp = request.get("time_stamp")
    signature = request.get("signature")
    if not isinstance(stamp, str) or not isinstance(signature, str):
        raise Refusal(401, "time_stamp and signature must be strings")
    if abs(time.time() - int(stamp)) > 300:
        raise Refusal(401, "time_stamp out of range")
    expected = hashlib.sha256((SECRET + TOKEN + stamp).encode()).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise Refusal(401, "signature does not match")


def check_shape(body):
    if body.get("schemas") != [BULK_REQUEST]:
        raise Refusal(400, "schemas must be [%s]" % BULK_REQUEST)
    operations = body.get("Operations")
    if not isinstance(operations, list) or not operations:
        raise Refusal(400, "Operations must be a non-empty array")
    if len(operations) > MAX_OPERATIONS:
        raise Refusal(413, "more than %d operations" % MAX_OPERATIONS)
    seen = set()
    for i, op in enumerate(operations):
        if not isinstance(op, dict):
            raise Refusal(400, "Operations[%d] is not an object" % i)
        unknown = set(op) - {"method", "bulkId", "path", "data", "version", "location", "response", "status"}
        if unknown:
            raise Refusal(400, "Operations[%d]: unknown attributes %s" % (i, sorted(unknown)))
        answers = [k for k in ("location", "response", "status") if op.get(k) is not None]
        if answers:
            raise Refusal(400, "Operations[%d]: %s belong in answers" % (i, answers))
        method = op.get("method")
        if method not in ("POST", "PUT", "PATCH", "DELETE"):
            raise Refusal(400, "Operations[%d]: bad method %r" % (i, method))
        bulk_id = op.get("bulkId")
        if bulk_id is not None:
            if not isinstance(bulk_id, str) or not bulk_id or bulk_id in seen:
                raise Refusal(400, "Operations[%d]: a bulkId must be a unique string" % i)
            seen.add(bulk_id)
        if not isinstance(op.get("path"), str):
            raise Refusal(400, "Operations[%d]: path must be a string" % i)
        if method != "DELETE" and not isinstance(op.get("data"), dict):
            raise Refusal(400, "Operations[%d]: data must be an object" % i)
        if method == "DELETE" and op.get("data") is not None:
            raise Refusal(400, "Operations[%d]: DELETE takes no data" % i)


def resolve(value, created):
    """Replaces bulkId:X with ids created earlier in this request."""
    if isinstance(value, str) and value.startswith("bulkId:"):
        name = value[len("bulkId:"):]
        if name not in created:
            raise KeyError(name)
        return created[name]
    if isinstance(value, list):
        return [resolve(v, created) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, created) for k, v in value.items()}
    return value


def user_eppns(user):
    return [e.get("value") for e in user.get("eduPersonPrincipalNames") or [] if isinstance(e, dict)]


def apply(op, created, base):
    method, path = op["method"], op["path"]
    segments = [resolve(s, created) for s in path.strip("/").split("/")]
    data = resolve(op.get("data"), created)
    if segments[0] != "Users":
        return {"status": "404", "response": error_doc(404, "only /Users here")}
    if method == "POST":
        if len(segments) != 1:
            return {"status": "400", "response": error_doc(400, "POST to /Users")}
        name = data.get("userName")
        stats["posts_received"][name] = stats["posts_received"].get(name, 0) + 1
        if not isinstance(name, str) or not name:
            return {"status": "400", "response": error_doc(400, "userName is required")}
        for eppn in user_eppns(data):
            if eppn in eppns:
                return {"status": "409", "response": error_doc(409, "%s is already tied to another account" % eppn, "uniqueness")}
        rid = "%012x" % next_id[0]
        next_id[0] += 1
        users[rid] = dict(data, id=rid)
        for eppn in user_eppns(data):
            eppns[eppn] = rid
        stats["created"][name] = stats["created"].get(name, 0) + 1
        if op.get("bulkId") is not None:
            created[op["bulkId"]] = rid
        return {"status": "201", "location": "%s/api/v2/Users/%s" % (base, rid)}
    if len(segments) != 2:
        return {"status": "400", "response": error_doc(400, "a user path is /Users/{id}")}
    rid = segments[1]
    if rid not in users:
        return {"status": "400", "response": error_doc(400, "'%s' Not Found" % rid)}
    if method == "DELETE":
        for eppn in user_eppns(users[rid]):
            del eppns[eppn]
        del users[rid]
        stats["deleted"].append(rid)
        return {"status": "204"}
    if method == "PUT":
        users[rid] = dict(data, id=rid)
    else:  # PATCH: only replace of top-level attributes, in a document or one bare operation
        for patch in data.get("Operations", []) if "op" not in data else [data]:
            if patch.get("op") != "replace" or not isinstance(patch.get("value"), dict):
                return {"status": "400", "response": error_doc(400, "only replace with a value")}
            users[rid].update(patch["value"])
    return {"status": "200", "location": "%s/api/v2/Users/%s" % (base, rid)}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, doc, extra=None, truncate=False):
        payload = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/scim+json")
        self.send_header("Content-Length", str(len(payload)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if truncate:
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
        else:
            self.wfile.write(payload)

    def do_GET(self):
        if self.path == "/stats":
            with lock:
                self.send(200, dict(stats, users=sorted(u["userName"] for u in users.values())))
        else:
            self.send(404, error_doc(404, "not here"))

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        if self.path != "/api/v2/Bulk":
            return self.send(404, error_doc(404, "not here"))
        with lock:
            stats["requests"] += 1
            fault = rng.choice(FAULTS) if rng.randrange(100) < FAULT_PERCENT else None
            if fault:
                stats["faults"][fault] = stats["faults"].get(fault, 0) + 1
            if fault in ("503", "429"):
                return self.send(int(fault), error_doc(int(fault), "try later"), {"Retry-After": "0"})
            try:
                body = json.loads(raw)
                if not isinstance(body, dict):
                    raise Refusal(400, "not an object")
                check_auth(self, body)
                check_shape(body)
            except Refusal as refusal:
                return self.send(refusal.status, error_doc(refusal.status, refusal.detail))
            except ValueError as e:
                return self.send(400, error_doc(400, "invalid JSON: %s" % e))
            base = "http://%s:%d" % self.server.server_address[:2]
            created, results = {}, []
            for op in body["Operations"]:
                try:
                    result = apply(op, created, base)
                except KeyError as missing:
                    result = {"status": "409", "response": error_doc(409, "bulkId:%s unresolved" % missing)}
                if result["status"].startswith("2"):
                    stats["applied"] += 1
                result["method"] = op["method"]
                if op.get("bulkId") is not None:
                    result["bulkId"] = op["bulkId"]
                result["path"] = op["path"]
                if op["method"] == "DELETE":
                    result.pop("location", None)
                elif op.get("data") is not None:
                    result["data"] = op["data"]
                results.append(result)
        if fault == "drop-after":
            self.close_connection = True
            return
        if fault in ("500-after", "502-after"):
            status = int(fault[:3])
            return self.send(status, error_doc(status, "something broke"))
        self.send(200, {"schemas": [BULK_RESPONSE], "Operations": results}, truncate=fault == "truncate-after")


if __name__ == "__main__":
    # One thread per connection, as a real server serves several: a client may open a new
    # connection while its last one is still on its way back to the pool, and a server that
    # waits on the idle one would stall the new one until the client gives up. The state is
    # still changed by one request at a time (`lock`).
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print("http://127.0.0.1:%d" % server.server_address[1], flush=True)
    server.serve_forever()
