"""What real AWS does that moto does not: a behaviour layer in front of moto, in moto's own
process, so the tool is tested against AWS's documented timing and refusals.

    python aws_layer.py -H 127.0.0.1 -p PORT --plain-port PLAIN

PORT serves moto through the layer (every test's `--endpoint-url`); PLAIN serves the same
moto backends without it (tests reading AWS back, or changing it out of band). Both include
the test-only hooks of `moto_faults.py`.

Time constants are real-world values (below) times `AWS_LAYER_SCALE` (default 1: real time;
the test harness uses a small scale so the suite stays fast, `scripts/bench --realistic` the
real ones). Burst sizes are not scaled; refill rates are divided by the scale.

Recording: moto's recorder records what reaches moto. A request the layer refuses (409
OperationAborted, ResourceInUseException, ContinuousBackupsUnavailableException, a fresh
entity's NoSuchEntity, an unassumable new role, Throttling) never reaches moto and is not
recorded there: the recording stays "what AWS did". The layer keeps its own list of refusals,
`GET /x-layer/refusals` (JSON), erased by `POST /moto-api/reset` and `POST /x-layer/reset`.
"""

import argparse
import datetime
import io
import json
import os
import re
import threading
import time
import zlib
from urllib.parse import parse_qs
from xml.etree import ElementTree

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

from moto_faults import with_faults

SCALE = float(os.environ.get("AWS_LAYER_SCALE", "1") or "1")

# Real-world values in seconds (scaled by SCALE), each with the behaviour it models.
REAL = {
    # Every call is a network round trip to a region: tens of milliseconds.
    "latency": 0.050,
    # How long one bucket configuration write stays "in progress" at S3 (beyond the round
    # trip); a second one on the same bucket meanwhile is refused (see S3 below).
    "s3_config_write": 0.200,
    # DynamoDB CreateTable returns CREATING; an on-demand table with SSE takes seconds.
    "table_creating": 6.0,
    # UpdateTable puts the table in UPDATING for a while.
    "table_updating": 4.0,
    # After the table is ACTIVE, UpdateContinuousBackups keeps answering
    # ContinuousBackupsUnavailableException for a while.
    "backups_gap": 10.0,
    # A role or OIDC provider just created is NoSuchEntity to reads for a moment.
    "iam_read_after_create": 2.0,
    # A new role cannot be assumed for several seconds.
    "role_assumable": 8.0,
    # A change set sits in CREATE_PENDING, then CREATE_IN_PROGRESS.
    "changeset_pending": 1.0,
    "changeset_in_progress": 2.0,
    # A stack operation (create, update, delete) of this template's few resources.
    "stack_operation": 20.0,
    # A StackSet operation (instances created, updated, deleted) is QUEUED, then RUNNING.
    "stackset_operation": 30.0,
}
T = {k: v * SCALE for k, v in REAL.items()}
# IAM throttling: a token bucket per account (burst not scaled; refill per real second).
IAM_BURST = 15
IAM_REFILL_PER_SECOND = 10.0 / SCALE if SCALE > 0 else float("inf")

ACCOUNT = "123456789012"
IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
CFN_NS = "http://cloudformation.amazonaws.com/doc/2010-05-15/"
READ_PREFIXES = ("Get", "List", "Describe", "Head", "Simulate", "Validate", "Estimate")

LOCK = threading.Lock()
STATE = {}


def reset_state():
    with LOCK:
        STATE.clear()
        STATE.update(
            {
                "refusals": [],
                "busy_buckets": set(),
                "tables": {},  # (region, name) -> {"created": t, "updating_until": t}
                "fresh": {},  # ("role", name) | ("provider", arn) -> created t
                "tokens": float(IAM_BURST),
                "tokens_at": time.monotonic(),
                "change_sets": {},  # id -> {"created", "stack", "type", "region", "name"}
                "stacks": {},  # (region, name) -> {"op", "started", "until", "wall"}
                "stackset_operations": {},  # operation id -> started t
                "drift": {},  # (region, stack, logical id) -> StackResourceDriftStatus
                "failing_accounts": {},  # account -> why StackSet operations fail there
                "outdated": {},  # (stackset, account, region) -> why its last operation failed
                "stackset_ous": {},  # (region, stackset) -> OUs targeted, in order
            }
        )


reset_state()


def refuse(kind, detail):
    with LOCK:
        STATE["refusals"].append({"behaviour": kind, "detail": detail})


# ---------------------------------------------------------------- requests and responses


class Req:
    def __init__(self, environ):
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET")
        self.path = environ.get("PATH_INFO", "/")
        self.query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()}
        auth = environ.get("HTTP_AUTHORIZATION", "")
        self.service, self.region = None, environ.get("HTTP_X_AMZ_REGION_SET", "us-east-1")
        m = re.search(r"Credential=([^,\s]+)", auth)
        if m:
            parts = m.group(1).split("/")
            if "aws4_request" in parts:
                i = parts.index("aws4_request")
                self.service = parts[i - 1]
                if i >= 4:
                    self.region = parts[i - 2]
        self.target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not self.service and self.target.startswith("DynamoDB"):
            self.service = "dynamodb"
        form = environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded")
        if not self.service and self.method == "POST" and form:
            # Unsigned query-protocol calls (sts:AssumeRoleWithWebIdentity): by API version.
            self.service = "query"
        self.params = {}
        self.json = {}
        if self.service in ("iam", "sts", "cloudformation", "query", "dynamodb"):
            body = self.read_body()
            if self.service == "dynamodb":
                try:
                    self.json = json.loads(body or b"{}")
                except ValueError:
                    self.json = {}
            else:
                self.params = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        if self.service == "query":
            versions = {"2011-06-15": "sts", "2010-05-08": "iam", "2010-05-15": "cloudformation"}
            self.service = versions.get(self.params.get("Version"), "query")
        self.action = self.params.get("Action") or self.target.rsplit(".", 1)[-1]

    def read_body(self):
        size = int(self.environ.get("CONTENT_LENGTH") or 0)
        body = self.environ["wsgi.input"].read(size) if size else b""
        self.environ["wsgi.input"] = io.BytesIO(body)
        return body


def forward(app, environ):
    """Call moto; `(status, headers, body)`."""
    got = {}

    def start_response(status, headers, exc_info=None):
        got["status"], got["headers"] = status, list(headers)
        return lambda data: got.setdefault("written", []).append(data)

    out = app(environ, start_response)
    try:
        body = b"".join(got.get("written", [])) + b"".join(out)
    finally:
        if hasattr(out, "close"):
            out.close()
    return got["status"], got["headers"], body


def reply(start_response, status, headers, body):
    headers = [(k, v) for k, v in headers if k.lower() not in ("content-length", "x-amz-crc32")]
    headers.append(("Content-Length", str(len(body))))
    if any(k.lower() == "content-type" and "json" in v for k, v in headers):
        headers.append(("x-amz-crc32", str(zlib.crc32(body) & 0xFFFFFFFF)))
    start_response(status, headers)
    return [body]


REFUSED = "x-aws-layer-refused"


def query_error(start_response, ns, status, code, message):
    body = (
        f'<ErrorResponse xmlns="{ns}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{message}</Message></Error><RequestId>aws-layer</RequestId></ErrorResponse>"
    ).encode()
    return reply(start_response, status, [("Content-Type", "text/xml"), (REFUSED, code)], body)


def json_error(start_response, code, message):
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}).encode()
    headers = [("Content-Type", "application/x-amz-json-1.0"), (REFUSED, code)]
    return reply(start_response, "400 Bad Request", headers, body)


def ok(status):
    return status.startswith("2")


# ---------------------------------------------------------------- S3


# S3 answers 409 OperationAborted "A conflicting conditional operation is currently in
# progress against this resource. Please try again." when a configuration write reaches a
# bucket while another one is still being applied (S3 API Reference, Error responses:
# OperationAborted; seen by terraform-provider-aws #7628 and #33552, the nozaq
# remote-state-s3-backend module #35, cloudposse terraform-aws-cloudfront-s3-cdn #136).
S3_CONFIG = ("policy", "publicAccessBlock", "versioning", "ownershipControls", "encryption", "lifecycle", "tagging")


def s3_config_write(app, req, start_response):
    segments = [s for s in req.path.split("/") if s]
    if req.method not in ("PUT", "DELETE") or len(segments) != 1:
        return None
    if not any(k in req.query for k in S3_CONFIG):
        return None
    bucket = segments[0]
    with LOCK:
        busy = bucket in STATE["busy_buckets"]
        if not busy:
            STATE["busy_buckets"].add(bucket)
    if busy:
        refuse("s3:OperationAborted", f"{req.method} {bucket}?{'&'.join(req.query)}")
        message = "A conflicting conditional operation is currently in progress against this resource. Please try again."
        return s3_error(start_response, "409 Conflict", "OperationAborted", message, bucket)
    try:
        time.sleep(T["s3_config_write"])
        status, headers, body = forward(app, req.environ)
    finally:
        with LOCK:
            STATE["busy_buckets"].discard(bucket)
    return reply(start_response, status, headers, body)


# S3's account regional namespace (since 2026-03-12; S3 User Guide, "Namespaces for general
# purpose buckets", "Account regional namespace naming rules"): a name of the form
# `<prefix>-<account-id>-<region>-an` lives in that account's regional namespace and is created
# with `x-amz-bucket-namespace: account-regional`. Without the header S3 refuses it with 400
# MissingNamespaceHeader "The requested bucket is an account-regional namespace bucket, but
# your request is missing the required x-amz-bucket-namespace header" (seen by
# ansible-collections/amazon.aws #2935). With the header, a name without the caller's own
# suffix (another account's id, another region) is refused: "If another account tries to
# create buckets using my account's suffix, their requests will be automatically rejected"
# (AWS News Blog, "Introducing account regional namespaces for Amazon S3 general purpose
# buckets"); the code is moto's upstream model of it, InvalidNamespaceHeader (getmoto/moto
# #9871). The namespace is in every Region except Middle East (Bahrain) and Middle East (UAE)
# (User Guide, as above). moto 5.1 ignores the header altogether.
#
# CreateBucket takes the bucket's tags (CreateBucketConfiguration.Tags, S3 API Reference:
# CreateBucket); moto 5.1 drops them, so the layer sets them on the bucket it created.
REGIONAL_NAME = re.compile(r"^.+-(\d{12})-([a-z]{2}(?:-[a-z]+)+-\d+)-an$")
REGIONS_WITHOUT_NAMESPACE = ("me-south-1", "me-central-1")


def s3_error(start_response, status, code, message, bucket):
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
        f"<BucketName>{bucket}</BucketName><RequestId>aws-layer</RequestId></Error>"
    ).encode()
    return reply(start_response, status, [("Content-Type", "application/xml"), (REFUSED, code)], body)


def namespace_refusal(bucket, namespace, region):
    """`(code, message)` when S3 would refuse to create `bucket` with this namespace header."""
    m = REGIONAL_NAME.match(bucket)
    if namespace == "account-regional":
        if region in REGIONS_WITHOUT_NAMESPACE:
            return "InvalidNamespaceHeader", f"Account regional namespaces are not available in {region}."
        if not m or (m.group(1), m.group(2)) != (ACCOUNT, region):
            return (
                "InvalidNamespaceHeader",
                f"The bucket name must end with the account regional suffix -{ACCOUNT}-{region}-an.",
            )
        return None
    if m:
        return (
            "MissingNamespaceHeader",
            "The requested bucket is an account-regional namespace bucket, but your request is "
            "missing the required x-amz-bucket-namespace header.",
        )
    return None


def create_tags(body):
    root = None
    try:
        root = ElementTree.fromstring(body) if body else None
    except ElementTree.ParseError:
        return {}
    tags = {}
    if root is None:
        return tags
    for el in root.iter():
        if _tag(el) == "Tag":
            key, value = _find(el, "Key"), _find(el, "Value")
            if key is not None:
                tags[key.text or ""] = (value.text or "") if value is not None else ""
    return tags


def s3_create_bucket(app, req, start_response):
    segments = [s for s in req.path.split("/") if s]
    if req.method != "PUT" or len(segments) != 1 or req.query:
        return None
    bucket = segments[0]
    namespace = req.environ.get("HTTP_X_AMZ_BUCKET_NAMESPACE", "")
    refusal = namespace_refusal(bucket, namespace, req.region)
    if refusal:
        refuse(f"s3:{refusal[0]}", f"CreateBucket {bucket} (namespace {namespace or 'none'})")
        return s3_error(start_response, "400 Bad Request", refusal[0], refusal[1], bucket)
    tags = create_tags(req.read_body())
    status, headers, body = forward(app, req.environ)
    if ok(status) and tags:
        from moto.s3.models import s3_backends

        s3_backends[ACCOUNT]["aws"].put_bucket_tagging(bucket, tags)
    return reply(start_response, status, headers, body)


def s3(app, req, start_response):
    return s3_create_bucket(app, req, start_response) or s3_config_write(app, req, start_response)


# ---------------------------------------------------------------- DynamoDB


# A new table is CREATING for a while (CreateTable returns CREATING; DescribeTable shows it
# until ACTIVE); UpdateTable on a table that is CREATING or UPDATING is refused with
# ResourceInUseException, and an update puts the table in UPDATING (DynamoDB API Reference:
# CreateTable, UpdateTable, "Common errors"). UpdateContinuousBackups answers
# ContinuousBackupsUnavailableException "Backups are being enabled for the table" for a
# while after a new table turns ACTIVE (DynamoDB API Reference: UpdateContinuousBackups;
# nasa/cumulus #1116, scalar-labs/scalardb #347, aws-amplify/amplify-backend #1654).


def table_status(region, name, now):
    t = STATE["tables"].get((region, name))
    if t is None:
        return None
    if now < t["created"] + T["table_creating"]:
        return "CREATING"
    if now < t["updating_until"]:
        return "UPDATING"
    return "ACTIVE"


def rewrite_table_status(headers, body, key, status):
    try:
        doc = json.loads(body)
    except ValueError:
        return body
    if isinstance(doc.get(key), dict):
        doc[key]["TableStatus"] = status
    return json.dumps(doc).encode()


def dynamodb(app, req, start_response):
    name = req.json.get("TableName")
    key = (req.region, name)
    now = time.monotonic()
    with LOCK:
        status = table_status(req.region, name, now)
    if req.action == "UpdateTable" and status in ("CREATING", "UPDATING"):
        refuse("dynamodb:ResourceInUseException", f"UpdateTable {name} ({status})")
        being = "created" if status == "CREATING" else "updated"
        return json_error(
            start_response,
            "ResourceInUseException",
            f"Attempt to change a resource which is still in use: Table is being {being}: {name}",
        )
    if req.action == "UpdateContinuousBackups":
        t = STATE["tables"].get(key)
        if t is not None and now < t["created"] + T["table_creating"] + T["backups_gap"]:
            refuse("dynamodb:ContinuousBackupsUnavailableException", f"UpdateContinuousBackups {name}")
            return json_error(
                start_response,
                "ContinuousBackupsUnavailableException",
                f"Backups are being enabled for the table: {name}. Please retry later",
            )
    if req.action not in ("CreateTable", "DescribeTable", "UpdateTable", "DeleteTable"):
        return None
    code, headers, body = forward(app, req.environ)
    if not ok(code):
        return reply(start_response, code, headers, body)
    now = time.monotonic()
    with LOCK:
        if req.action == "CreateTable":
            STATE["tables"][key] = {"created": now, "updating_until": 0.0}
        elif req.action == "DeleteTable":
            STATE["tables"].pop(key, None)
        elif req.action == "UpdateTable" and key in STATE["tables"]:
            STATE["tables"][key]["updating_until"] = now + T["table_updating"]
        elif req.action == "UpdateTable":
            STATE["tables"][key] = {"created": now - T["table_creating"] - T["backups_gap"],
                                    "updating_until": now + T["table_updating"]}
        status = table_status(req.region, name, now)
    if status and req.action != "DeleteTable":
        field = "Table" if req.action == "DescribeTable" else "TableDescription"
        body = rewrite_table_status(headers, body, field, status)
    return reply(start_response, code, headers, body)


# ---------------------------------------------------------------- IAM and STS


# IAM is eventually consistent: "changes ... take time to become visible from other
# endpoints"; a role or provider just created may be NoSuchEntity to reads, and a new role
# cannot be assumed for several seconds (IAM User Guide, Troubleshooting IAM: "Changes that I
# make are not always immediately visible"; STS AssumeRoleWithWebIdentity then answers
# AccessDenied "Not authorized to perform sts:AssumeRoleWithWebIdentity").
ROLE_READS = ("GetRole", "GetRolePolicy", "ListRolePolicies", "ListAttachedRolePolicies", "ListRoleTags")
PROVIDER_READS = ("GetOpenIDConnectProvider", "ListOpenIDConnectProviderTags")

# IAM throttles bursts of calls: "Throttling" "Rate exceeded" (IAM API Reference, Common
# errors: Throttling; IAM and STS quotas: requests are rate limited per account).


def take_iam_token(now):
    with LOCK:
        tokens = min(IAM_BURST, STATE["tokens"] + (now - STATE["tokens_at"]) * IAM_REFILL_PER_SECOND)
        STATE["tokens_at"] = now
        if tokens < 1:
            STATE["tokens"] = tokens
            return False
        STATE["tokens"] = tokens - 1
        return True


def fresh(kind, name, window, now):
    with LOCK:
        created = STATE["fresh"].get((kind, name))
    return created is not None and now < created + window


# IAM names are unique without regard to case: "you can't create two roles named
# "ROLE1" and "role1"" (IAM User Guide, IAM identifiers: "Friendly names and paths"; CreateRole
# answers EntityAlreadyExists). moto compares role names exactly.


def role_differing_in_case(name):
    """The existing role whose name differs from `name` only in case, or None."""
    from moto.iam.models import iam_backends

    backend = iam_backends[ACCOUNT]["aws"]
    return next(
        (r.name for r in backend.get_roles() if r.name != name and r.name.lower() == name.lower()),
        None,
    )


def iam(app, req, start_response):
    now = time.monotonic()
    action = req.action
    if not action.startswith(READ_PREFIXES) and not take_iam_token(now):
        refuse("iam:Throttling", action)
        return query_error(start_response, IAM_NS, "400 Bad Request", "Throttling", "Rate exceeded")
    role = req.params.get("RoleName")
    taken = role_differing_in_case(role) if action == "CreateRole" and role else None
    if taken:
        refuse("iam:EntityAlreadyExists", f"CreateRole {role} ({taken} exists)")
        return query_error(
            start_response, IAM_NS, "409 Conflict", "EntityAlreadyExists", f"Role with name {role} already exists."
        )
    if action in ROLE_READS and role and fresh("role", role, T["iam_read_after_create"], now):
        refuse("iam:NoSuchEntity", f"{action} {role}")
        return query_error(
            start_response, IAM_NS, "404 Not Found", "NoSuchEntity", f"The role with name {role} cannot be found."
        )
    arn = req.params.get("OpenIDConnectProviderArn")
    if action in PROVIDER_READS and arn and fresh("provider", arn, T["iam_read_after_create"], now):
        refuse("iam:NoSuchEntity", f"{action} {arn}")
        return query_error(
            start_response, IAM_NS, "404 Not Found", "NoSuchEntity", f"OpenIDConnect Provider not found for arn {arn}"
        )
    if action not in ("CreateRole", "CreateOpenIDConnectProvider", "DeleteRole", "DeleteOpenIDConnectProvider"):
        return None
    code, headers, body = forward(app, req.environ)
    if ok(code):
        with LOCK:
            if action == "CreateRole":
                STATE["fresh"][("role", role)] = time.monotonic()
            elif action == "CreateOpenIDConnectProvider":
                m = re.search(rb"<OpenIDConnectProviderArn>([^<]+)<", body)
                if m:
                    STATE["fresh"][("provider", m.group(1).decode())] = time.monotonic()
            elif action == "DeleteRole":
                STATE["fresh"].pop(("role", role), None)
            else:
                STATE["fresh"].pop(("provider", arn), None)
    return reply(start_response, code, headers, body)


def sts(app, req, start_response):
    if req.action != "AssumeRoleWithWebIdentity":
        return None
    role = req.params.get("RoleArn", "").rsplit("/", 1)[-1]
    if fresh("role", role, T["role_assumable"], time.monotonic()):
        refuse("sts:AccessDenied", f"AssumeRoleWithWebIdentity {role}")
        return query_error(
            start_response, STS_NS, "403 Forbidden", "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity"
        )
    return None


# ---------------------------------------------------------------- CloudFormation


# CloudFormation takes time: a change set is CREATE_PENDING, then CREATE_IN_PROGRESS, before
# CREATE_COMPLETE (or FAILED), and cannot be executed meanwhile (InvalidChangeSetStatus); a
# stack sits in CREATE_/UPDATE_/DELETE_IN_PROGRESS while its resources change, and its events
# arrive as they happen (CloudFormation User Guide: "Stack status codes", "Change sets";
# API Reference: DescribeChangeSet, DescribeStackEvents, ExecuteChangeSet). moto completes
# all of it inside the call.


def _tag(el):
    return el.tag.rsplit("}", 1)[-1]


def _find(el, name):
    for child in el.iter():
        if _tag(child) == name:
            return child
    return None


def _xml(body):
    ElementTree.register_namespace("", CFN_NS)
    try:
        return ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return None


def stack_progress(region, name, now):
    """`(op, fraction done)` of a stack operation still running, else None."""
    s = STATE["stacks"].get((region, name))
    if s is None or now >= s["until"]:
        return None
    return s["op"], (now - s["started"]) / max(s["until"] - s["started"], 1e-9), s["wall"]


def change_set_phase(cs, now):
    age = now - cs["created"]
    if age < T["changeset_pending"]:
        return "CREATE_PENDING"
    if age < T["changeset_pending"] + T["changeset_in_progress"]:
        return "CREATE_IN_PROGRESS"
    return None


def find_change_set(params, region):
    name = params.get("ChangeSetName", "")
    stack = params.get("StackName")
    for cid, cs in STATE["change_sets"].items():
        if name == cid or (name == cs["name"] and stack in (cs["stack"], cs.get("stack_id"), None)):
            return cs
    return None


def start_stack_op(region, name, op):
    now = time.monotonic()
    STATE["stacks"][(region, name)] = {
        "op": op,
        "started": now,
        "until": now + T["stack_operation"],
        "wall": datetime.datetime.now(datetime.timezone.utc),
    }


def cloudformation(app, req, start_response):
    action, p, region = req.action, req.params, req.region
    now = time.monotonic()
    with LOCK:
        cs = find_change_set(p, region) if "ChangeSetName" in p else None
        phase = change_set_phase(cs, now) if cs else None
    if action == "ExecuteChangeSet" and phase:
        refuse("cloudformation:InvalidChangeSetStatus", f"ExecuteChangeSet {cs['name']} ({phase})")
        return query_error(
            start_response, CFN_NS, "400 Bad Request", "InvalidChangeSetStatus",
            f"ChangeSet [{cs['name']}] cannot be executed in its current status of [{phase}]",
        )
    if action not in (
        "CreateChangeSet", "ExecuteChangeSet", "DescribeChangeSet", "CreateStack", "UpdateStack",
        "DeleteStack", "DescribeStacks", "DescribeStackEvents", "DescribeStackSetOperation",
        "DescribeStackResources", "DescribeStackSet", "ListStackInstances",
        "ListStackSetOperationResults",
    ) + STACKSET_OPERATIONS:
        return None
    code, headers, body = forward(app, req.environ)
    if not ok(code):
        return reply(start_response, code, headers, body)
    stack = p.get("StackName", "")
    with LOCK:
        if action == "CreateChangeSet":
            cid = _find(_xml(body), "Id")
            sid = _find(_xml(body), "StackId")
            if cid is not None:
                STATE["change_sets"][cid.text] = {
                    "created": time.monotonic(), "stack": stack, "name": p.get("ChangeSetName"),
                    "type": p.get("ChangeSetType", "UPDATE"), "stack_id": sid.text if sid is not None else None,
                }
        elif action == "ExecuteChangeSet" and cs:
            start_stack_op(region, cs["stack"], "CREATE" if cs["type"] == "CREATE" else "UPDATE")
        elif action in ("CreateStack", "UpdateStack"):
            start_stack_op(region, stack, action[:6].upper())
        elif action == "DeleteStack":
            start_stack_op(region, stack, "DELETE")
        elif action == "DescribeChangeSet" and phase:
            body = rewrite_change_set(body, phase)
        elif action == "DescribeStacks":
            body = rewrite_stacks(body, region, now)
        elif action == "DescribeStackEvents":
            body = rewrite_events(body, region, now)
        elif action == "DescribeStackResources":
            body = rewrite_drift(body, region)
        elif action in STACKSET_OPERATIONS:
            op = _find(_xml(body), "OperationId")
            if op is not None:
                STATE["stackset_operations"][op.text] = time.monotonic()
            record_ous(action, p, region)
        elif action == "DescribeStackSet":
            body = rewrite_stackset_ous(body, p.get("StackSetName", ""), region)
        elif action == "ListStackSetOperationResults":
            body = rewrite_account_results(body, p.get("StackSetName", ""))
        elif action == "ListStackInstances":
            body = rewrite_instances(body, p.get("StackSetName", ""))
        elif action == "DescribeStackSetOperation":
            body = rewrite_stackset_operation(body, p.get("OperationId"), now)
    return reply(start_response, code, headers, body)


# Drift detection (DetectStackDrift, run by anyone) leaves each resource's result in
# DescribeStackResources: DriftInformation.StackResourceDriftStatus IN_SYNC, MODIFIED, DELETED
# or NOT_CHECKED (CloudFormation API Reference: StackResource, StackResourceDriftInformation;
# User Guide: "Detect unmanaged configuration changes to stacks and resources"). moto runs no
# drift detection; a test sets a result with
#   POST /x-layer/drift?region=R&stack=NAME&resource=LOGICAL_ID&status=MODIFIED
# (status NOT_CHECKED forgets it).


def set_drift(query):
    key = (query.get("region", "us-east-1"), query.get("stack", ""), query.get("resource", ""))
    with LOCK:
        if query.get("status", "NOT_CHECKED") == "NOT_CHECKED":
            STATE["drift"].pop(key, None)
        else:
            STATE["drift"][key] = query["status"]


def _ns(el):
    """The `{namespace}` of `el`'s tag, for the elements added beside it."""
    return el.tag[: el.tag.index("}") + 1] if el.tag.startswith("{") else ""


def _each_member(body, first, second, change):
    """Call `change(member, a, b)` for every list member of the query-protocol `body` that has
    children `first` and `second` (their texts); the body rewritten."""
    root = _xml(body)
    if root is None:
        return body
    for member in list(root.iter()):
        a, b = _find(member, first), _find(member, second)
        if _tag(member) == "member" and a is not None and b is not None:
            change(member, a.text, b.text)
    return ElementTree.tostring(root)


def rewrite_drift(body, region):
    def change(member, stack, logical):
        status = STATE["drift"].get((region, stack, logical))
        if status is not None:
            info = _find(member, "DriftInformation")
            if info is None:
                info = ElementTree.SubElement(member, f"{_ns(member)}DriftInformation")
            for child in list(info):
                info.remove(child)
            _set_child(info, "StackResourceDriftStatus", status)

    return _each_member(body, "StackName", "LogicalResourceId", change)


# StackSet operations run for a while: QUEUED, then RUNNING, before SUCCEEDED or FAILED
# (CloudFormation API Reference: DescribeStackSetOperation, StackSetOperation.Status).
STACKSET_OPERATIONS = (
    "CreateStackInstances", "UpdateStackInstances", "DeleteStackInstances", "UpdateStackSet",
)


# A StackSet records the OUs it targets: DescribeStackSet answers them in
# StackSet.OrganizationalUnitIds ("[Service-managed permissions] The organization root ID or
# organizational unit (OU) IDs that you specified for DeploymentTargets", CloudFormation API
# Reference: StackSet), whether or not an OU has accounts (an empty OU has no instance).
# moto does not record them.


def _members(params, prefix):
    keys = sorted((k for k in params if k.startswith(prefix + ".member.")), key=lambda k: int(k.rsplit(".", 1)[1]))
    return [params[k] for k in keys]


def record_ous(action, params, region):
    ous = _members(params, "DeploymentTargets.OrganizationalUnitIds")
    key = (region, params.get("StackSetName", ""))
    have = STATE["stackset_ous"].setdefault(key, [])
    if action == "CreateStackInstances":
        have.extend(o for o in ous if o not in have)
    elif action == "DeleteStackInstances":
        have[:] = [o for o in have if o not in ous]


def rewrite_stackset_ous(body, name, region):
    ous = STATE["stackset_ous"].get((region, name))
    root = _xml(body)
    if not ous or root is None:
        return body
    stackset = _find(root, "StackSet")
    if stackset is None:
        return body
    ns = _ns(stackset)
    old = _find(stackset, "OrganizationalUnitIds")
    if old is not None:
        stackset.remove(old)
    el = ElementTree.SubElement(stackset, f"{ns}OrganizationalUnitIds")
    for ou in ous:
        ElementTree.SubElement(el, f"{ns}member").text = ou
    return ElementTree.tostring(root)


# A StackSet operation can fail in some accounts and still SUCCEED as a whole, within its
# failure tolerance: ListStackSetOperationResults then answers FAILED with a StatusReason for
# those accounts, and their instances stay OUTDATED (StackInstanceStatus.DetailedStatus
# FAILED) until an operation succeeds there (CloudFormation API Reference:
# StackSetOperationResultSummary, StackInstanceSummary, StackSetOperationPreferences
# FailureToleranceCount; User Guide: "StackSets status codes"). moto succeeds everywhere; a
# test makes an account fail with
#   POST /x-layer/stackset-account?account=ID&reason=WHY   (no reason: it works again)


def set_failing_account(query):
    with LOCK:
        if query.get("reason"):
            STATE["failing_accounts"][query["account"]] = query["reason"]
        else:
            STATE["failing_accounts"].pop(query.get("account"), None)


def _set_child(parent, name, text):
    ns = _ns(parent)
    el = None
    for child in parent:
        if _tag(child) == name:
            el = child
    if el is None:
        el = ElementTree.SubElement(parent, f"{ns}{name}")
    el.text = text
    return el


def rewrite_account_results(body, stackset):
    def change(member, account, region):
        reason = STATE["failing_accounts"].get(account)
        if reason:
            _set_child(member, "Status", "FAILED")
            _set_child(member, "StatusReason", reason)
            STATE["outdated"][(stackset, account, region)] = reason
        else:
            STATE["outdated"].pop((stackset, account, region), None)

    return _each_member(body, "Account", "Region", change)


def rewrite_instances(body, stackset):
    def change(member, account, region):
        reason = STATE["outdated"].get((stackset, account, region))
        if reason:
            _set_child(member, "Status", "OUTDATED")
            _set_child(member, "StatusReason", reason)
            status = _find(member, "StackInstanceStatus")
            if status is None:
                status = _set_child(member, "StackInstanceStatus", None)
            _set_child(status, "DetailedStatus", "FAILED")

    return _each_member(body, "Account", "Region", change)


def rewrite_stackset_operation(body, op_id, now):
    started = STATE["stackset_operations"].get(op_id)
    if started is None or now >= started + T["stackset_operation"]:
        return body
    root = _xml(body)
    if root is None:
        return body
    running = "QUEUED" if now < started + T["stackset_operation"] / 10 else "RUNNING"
    for parent in list(root.iter()):
        for el in list(parent):
            if _tag(el) == "Status":
                el.text = running
            elif _tag(el) == "EndTimestamp":
                parent.remove(el)
    return ElementTree.tostring(root)


def rewrite_change_set(body, phase):
    root = _xml(body)
    if root is None:
        return body
    for el in root.iter():
        if _tag(el) == "Status":
            el.text = phase
        elif _tag(el) == "ExecutionStatus":
            el.text = "UNAVAILABLE"
        elif _tag(el) == "StatusReason":
            el.text = ""
        elif _tag(el) == "Changes":
            for child in list(el):
                el.remove(child)
    return ElementTree.tostring(root)


def rewrite_stacks(body, region, now):
    root = _xml(body)
    if root is None:
        return body
    for member in root.iter():
        if _tag(member) != "member":
            continue
        name_el, status_el = _find(member, "StackName"), _find(member, "StackStatus")
        if name_el is None or status_el is None:
            continue
        progress = stack_progress(region, name_el.text, now)
        if progress:
            status_el.text = f"{progress[0]}_IN_PROGRESS"
    return ElementTree.tostring(root)


def rewrite_events(body, region, now):
    """Hide the running operation's events that have not "happened" yet: the share shown
    grows with the operation's elapsed time (its first event, the stack's own
    *_IN_PROGRESS, at once)."""
    root = _xml(body)
    if root is None:
        return body
    events = _find(root, "StackEvents")
    if events is None:
        return body
    members = list(events)
    if not members:
        return body
    name_el = _find(members[0], "StackName")
    progress = stack_progress(region, name_el.text if name_el is not None else "", now)
    if not progress:
        return body
    _, fraction, wall = progress

    def stamp(m):
        t = _find(m, "Timestamp")
        try:
            return datetime.datetime.fromisoformat(t.text.replace("Z", "+00:00"))
        except (AttributeError, ValueError):
            return wall
    # Newest first; this operation's events are those at or after its start (1 s of clock
    # slack between moto's timestamps and ours).
    current = [m for m in members if stamp(m) >= wall - datetime.timedelta(seconds=1)]
    shown = 1 + int((len(current) - 1) * fraction)
    hidden = current[: len(current) - shown]
    for m in hidden:
        events.remove(m)
    return ElementTree.tostring(root)


# ---------------------------------------------------------------- the layer


def layer(app):
    def wsgi(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/x-layer/refusals":
            with LOCK:
                body = json.dumps({"scale": SCALE, "refusals": STATE["refusals"]}).encode()
            return reply(start_response, "200 OK", [("Content-Type", "application/json")], body)
        if path == "/x-layer/stackset-account":
            set_failing_account({k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()})
            return reply(start_response, "200 OK", [("Content-Type", "application/json")], b"{}")
        if path == "/x-layer/drift":
            set_drift({k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()})
            return reply(start_response, "200 OK", [("Content-Type", "application/json")], b"{}")
        if path == "/x-layer/reset" or path == "/moto-api/reset":
            reset_state()
            if path == "/x-layer/reset":
                return reply(start_response, "200 OK", [("Content-Type", "application/json")], b"{}")
        if path.startswith("/moto-api/") or path.startswith("/x-test/"):
            return app(environ, start_response)
        # Every call is a round trip.
        time.sleep(T["latency"])
        req = Req(environ)
        handler = {"iam": iam, "sts": sts, "dynamodb": dynamodb, "cloudformation": cloudformation}.get(
            req.service, s3 if req.service in ("s3", None) else None
        )
        played = handler(app, req, start_response) if handler else None
        if played is not None:
            return played
        return app(environ, start_response)

    return wsgi


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument("--plain-port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    moto = with_faults(DomainDispatcherApplication(create_backend_app))
    servers = [
        make_server(args.host, args.plain_port, moto, threaded=True),
        make_server(args.host, args.port, layer(moto), threaded=True),
    ]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
