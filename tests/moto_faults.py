"""moto_server with one test-only endpoint: put a CloudFormation stack into the state a
failed first create leaves behind (ROLLBACK_COMPLETE), which moto never reaches by itself.

    python moto_faults.py -H 127.0.0.1 -p PORT

POST /x-test/cloudformation/failed-create?region=R&stack=NAME&resource=ID&type=TYPE&reason=WHY
creates stack NAME (no resources: a rolled-back create removed what it made), with the
events CloudFormation writes when resource ID failed with WHY, and status ROLLBACK_COMPLETE.
Everything else is plain moto, including its request recorder.
"""

import argparse
import json
import os
from urllib.parse import parse_qs

from moto.cloudformation.models import Event, cloudformation_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

ACCOUNT = "123456789012"


def failed_create(q):
    region, name = q["region"], q["stack"]
    logical, rtype, reason = q["resource"], q["type"], q["reason"]
    backend = cloudformation_backends[ACCOUNT][region]
    template = json.dumps(
        {"Resources": {"Nothing": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
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


def with_faults(app):
    def wsgi(environ, start_response):
        if environ.get("PATH_INFO") == "/x-test/cloudformation/failed-create":
            q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
            body = json.dumps(failed_create(q)).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]
        return app(environ, start_response)

    return wsgi


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(args.host, args.port, with_faults(app), threaded=True)


if __name__ == "__main__":
    main()
