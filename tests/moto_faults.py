"""Test-only hooks around moto's app (`with_faults`): put a CloudFormation stack into the
state a failed first create leaves behind (ROLLBACK_COMPLETE), which moto never reaches by
itself.

POST /x-test/cloudformation/failed-create?region=R&stack=NAME&resource=ID&type=TYPE&reason=WHY
creates stack NAME (no resources: a rolled-back create removed what it made), with the
events CloudFormation writes when resource ID failed with WHY, and status ROLLBACK_COMPLETE.
UpdateTerminationProtection, which moto lacks, is played here (and recorded like any
request), and DeleteStack on a stack with termination protection on is refused with the
ValidationError CloudFormation returns, as AWS does and moto does not. A role whose RoleName
changes in a stack update is replaced (created anew, the old one deleted), and a stack's
outputs follow its update, as CloudFormation does (see `role_replacement`).

POST /x-test/cloudformation/stack-status?region=R&stack=NAME&status=STATUS puts an existing
stack into a status a failed or running operation leaves (see `stack_status`).

Everything else is plain moto, including its request recorder. `aws_layer.py` serves moto with
these hooks, behind the AWS behaviour layer and without it.
"""

import io
import json
import re
from urllib.parse import parse_qs

from werkzeug.wrappers import Request

# moto's CloudFormation models import most of moto: loaded on first use, not at start-up.


def cloudformation_backends():
    from moto.cloudformation.models import cloudformation_backends as backends

    return backends


def record(environ):
    from moto.moto_api import recorder

    recorder._record_request(Request(environ))

ACCOUNT = "123456789012"


def failed_create(q):
    region, name = q["region"], q["stack"]
    logical, rtype, reason = q["resource"], q["type"], q["reason"]
    from moto.cloudformation.models import Event

    backend = cloudformation_backends()[ACCOUNT][region]
    # The template of the create that failed: bootstrap's, so it carries bootstrap's marker
    # (GetTemplate returns the submitted template for a ROLLBACK_COMPLETE stack).
    template = json.dumps(
        {
            "Metadata": {"bootstrap": {"template-version": "1"}},
            "Resources": {"Nothing": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        }
    )
    stack = backend.create_stack(name=name, template=template, parameters={})
    stack.events = stack.events[:1]  # CREATE_IN_PROGRESS, "User Initiated"

    def event(lid, typ, status, why):
        stack.events.append(
            Event(
                stack_id=stack.stack_id,
                stack_name=name,
                logical_resource_id=lid,
                physical_resource_id=stack.stack_id if lid == name else "",
                resource_type=typ,
                resource_status=status,
                resource_status_reason=why,
                resource_properties=None,
            )
        )

    event(logical, rtype, "CREATE_IN_PROGRESS", None)
    event(logical, rtype, "CREATE_FAILED", reason)
    event(
        name,
        "AWS::CloudFormation::Stack",
        "ROLLBACK_IN_PROGRESS",
        f"The following resource(s) failed to create: [{logical}]. Rollback requested by user.",
    )
    event(logical, rtype, "DELETE_COMPLETE", None)
    event(name, "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE", None)
    stack.status = "ROLLBACK_COMPLETE"
    return {"StackId": stack.stack_id}


CFN_NS = "http://cloudformation.amazonaws.com/doc/2010-05-15/"


def stack_status(q):
    """Put the existing stack NAME into STATUS, as a failed operation leaves it: an update
    rolled back (UPDATE_ROLLBACK_COMPLETE), a rollback that failed (UPDATE_ROLLBACK_FAILED,
    ROLLBACK_FAILED), a deletion that failed (DELETE_FAILED), or an operation still running
    (*_IN_PROGRESS) (CloudFormation User Guide, "Stack status codes"). moto completes every
    operation inside the call and never fails one, so it never reaches these by itself.

    POST /x-test/cloudformation/stack-status?region=R&stack=NAME&status=STATUS&reason=WHY
    """
    backend = cloudformation_backends()[ACCOUNT][q["region"]]
    stack = next(s for s in backend.stacks.values() if q["stack"] in (s.name, s.stack_id))
    stack.status = q["status"]
    stack._add_stack_event(q["status"], resource_status_reason=q.get("reason"))
    return {"StackId": stack.stack_id, "StackStatus": stack.status}


def cloudformation_action(environ):
    """`(action, params, region)` of a CloudFormation query-protocol request, else None.
    Leaves the body readable for moto."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    scope = re.search(r"Credential=[^/]+/[^/]+/([^/]+)/cloudformation/", auth)
    if environ.get("REQUEST_METHOD") != "POST" or not scope:
        return None
    size = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(size)
    environ["wsgi.input"] = io.BytesIO(body)
    params = {k: v[0] for k, v in parse_qs(body.decode()).items()}
    return params.get("Action"), params, scope.group(1)


def xml_reply(start_response, status, body):
    start_response(status, [("Content-Type", "text/xml")])
    return [body.encode()]


def termination_protection(environ, start_response):
    found = cloudformation_action(environ)
    if not found or found[0] not in ("UpdateTerminationProtection", "DeleteStack"):
        return None
    action, params, region = found
    backend = cloudformation_backends()[ACCOUNT][region]
    name = params.get("StackName", "")
    stack = next(
        (s for s in backend.stacks.values() if name in (s.name, s.stack_id)), None
    )
    if action == "DeleteStack":
        if stack is None or not stack.enable_termination_protection:
            return None  # moto deletes it
        record(environ)
        message = (
            f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled"
        )
        return xml_reply(
            start_response,
            "400 Bad Request",
            f'<ErrorResponse xmlns="{CFN_NS}"><Error><Type>Sender</Type>'
            f"<Code>ValidationError</Code><Message>{message}</Message></Error>"
            "<RequestId>x-test</RequestId></ErrorResponse>",
        )
    record(environ)
    if stack is None:
        return xml_reply(
            start_response,
            "400 Bad Request",
            f'<ErrorResponse xmlns="{CFN_NS}"><Error><Type>Sender</Type>'
            f"<Code>ValidationError</Code><Message>Stack [{name}] does not exist</Message>"
            "</Error><RequestId>x-test</RequestId></ErrorResponse>",
        )
    stack.enable_termination_protection = (
        params.get("EnableTerminationProtection") == "true"
    )
    return xml_reply(
        start_response,
        "200 OK",
        f'<UpdateTerminationProtectionResponse xmlns="{CFN_NS}">'
        f"<UpdateTerminationProtectionResult><StackId>{stack.stack_id}</StackId>"
        "</UpdateTerminationProtectionResult>"
        "<ResponseMetadata><RequestId>x-test</RequestId></ResponseMetadata>"
        "</UpdateTerminationProtectionResponse>",
    )


# CloudFormation replaces an AWS::IAM::Role whose RoleName changes: it creates the role of
# the new name, then deletes the old one (CloudFormation User Guide, AWS::IAM::Role,
# RoleName: "Update requires: Replacement"). moto updates the role of the new name in place,
# which does not exist yet ("Role NEW not found"). Patched into moto's models on the first
# request, with the outputs below.
_ROLE_REPLACEMENT = {"patched": False}


def role_replacement():
    if _ROLE_REPLACEMENT["patched"]:
        return
    from moto.iam.models import Role

    in_place = Role.update_from_cloudformation_json.__func__

    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        new_name = cloudformation_json.get("Properties", {}).get("RoleName", original_resource.name)
        if new_name == original_resource.name:
            return in_place(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)
        new = cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        cls.delete_from_cloudformation_json(original_resource.name, cloudformation_json, account_id, region_name)
        return new

    Role.update_from_cloudformation_json = classmethod(update)

    # A stack's outputs are those of the stack as updated (CloudFormation API Reference,
    # DescribeStacks: Outputs); moto's ExecuteChangeSet keeps the outputs of before.
    from moto.cloudformation.models import CloudFormationBackend

    execute = CloudFormationBackend.execute_change_set

    def execute_change_set(self, change_set_name, stack_name=None):
        execute(self, change_set_name, stack_name)
        for stack in self.stacks.values():
            stack.output_map = stack._create_output_map()

    CloudFormationBackend.execute_change_set = execute_change_set
    _ROLE_REPLACEMENT["patched"] = True


_BUCKET_NAME_PREFIX = {"patched": False}


def bucket_name_prefix():
    """AWS::S3::Bucket with `BucketNamePrefix` and `BucketNamespace: account-regional` (and
    no BucketName) is named `<prefix>-<account>-<region>-an` in the account regional
    namespace (CloudFormation template reference, AWS::S3::Bucket: BucketNamePrefix,
    BucketNamespace; the CDK's BucketNamespace documents the resulting name
    `my-app-123456789012-us-east-1-an`). moto ignores both properties and gives such a
    bucket a generated name; and a BucketName left out with `Fn::If ... AWS::NoValue` reaches
    moto as None, which it would take for the name."""
    if _BUCKET_NAME_PREFIX["patched"]:
        return
    from moto.cloudformation import parsing

    generate = parsing.parse_resource_and_generate_name

    def parse_resource_and_generate_name(logical_id, resource_json, resources_map):
        parsed = generate(logical_id, resource_json, resources_map)
        if not parsed or resource_json.get("Type") != "AWS::S3::Bucket":
            return parsed
        cls, parsed_json, name = parsed
        props = parsed_json.get("Properties", {})
        for k in [k for k, v in props.items() if v is None]:
            del props[k]
        if "BucketName" not in props:
            prefix = props.get("BucketNamePrefix")
            if prefix and props.get("BucketNamespace") == "account-regional":
                account = resources_map["AWS::AccountId"]
                region = resources_map["AWS::Region"]
                name = f"{prefix}-{account}-{region}-an"
            elif name is None:
                name = parsing.generate_resource_name(
                    "AWS::S3::Bucket", resources_map["AWS::StackName"], logical_id
                )
        return cls, parsed_json, name

    parsing.parse_resource_and_generate_name = parse_resource_and_generate_name
    _BUCKET_NAME_PREFIX["patched"] = True


def with_faults(app):
    def wsgi(environ, start_response):
        role_replacement()
        bucket_name_prefix()
        played = termination_protection(environ, start_response)
        if played is not None:
            return played
        if environ.get("PATH_INFO") == "/x-test/cloudformation/stack-status":
            q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
            body = json.dumps(stack_status(q)).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        if environ.get("PATH_INFO") == "/x-test/cloudformation/failed-create":
            q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
            body = json.dumps(failed_create(q)).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        return app(environ, start_response)

    return wsgi
