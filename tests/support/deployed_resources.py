"""Each resource of a (translated) template checked against what the deployer created, read
back through boto3, in both directions: each type read by its class in
tests/support/deployed_kinds.py.

Each class reads the whole deployed configuration of a resource, named as the template
names its properties. A template property with no deployed counterpart is a difference ("not
deployed"), and so is a deployed value the template does not hold, unless DEFAULTS names it
with its value and why: a managed policy, a queue delay or a reserved concurrency added on
the deployer's side cannot slip past. An empty deployed value ([], {}, None) counts as
absent. IGNORED names what differs by design.
"""

from __future__ import annotations

import json
from typing import Any

from tests.support.cloudformation import Stack
from tests.support.deployed_kinds import KINDS, Kind, present

# Properties that differ by design between the two ways of deploying (both sides skipped).
IGNORED: dict[str, dict[str, str]] = {
    "AWS::IAM::Role": {"Description": "each says which tool created the role"},
    "AWS::Lambda::Function": {
        "Code": "the template's code is in S3, deploy uploads the zip itself",
        "Tags": "SAM's own lambda:createdBy tag",
    },
}

# Deployed values the template may leave out: AWS's defaults for a resource created
# without them. Any other deployed value absent from the template is a difference.
DEFAULTS: dict[str, dict[str, tuple[Any, str]]] = {
    "AWS::SQS::Queue": {
        "DelaySeconds": ("0", "SQS's default: no delay"),
        "MaximumMessageSize": ("1048576", "SQS's default, 1 MiB"),
        "ReceiveMessageWaitTimeSeconds": ("0", "SQS's default: short polling"),
        "VisibilityTimeout": ("30", "SQS's default"),
        "SqsManagedSseEnabled": ("true", "SQS encrypts new queues with its own keys"),
    },
    "AWS::DynamoDB::Table": {
        "DeletionProtectionEnabled": (False, "DynamoDB's default"),
        "PointInTimeRecoverySpecification": (
            {"PointInTimeRecoveryEnabled": False},
            "DynamoDB's default: no point-in-time recovery",
        ),
        "WarmThroughput": (
            {"ReadUnitsPerSecond": 12000, "WriteUnitsPerSecond": 4000},
            "an on-demand table's baseline, set by DynamoDB",
        ),
        "TableClass": ("STANDARD", "DynamoDB's default"),
    },
    "AWS::IAM::Role": {
        "Path": ("/", "IAM's default path"),
        "MaxSessionDuration": (3600, "IAM's default, one hour"),
    },
    "AWS::Lambda::Function": {
        "TracingConfig": ({"Mode": "PassThrough"}, "Lambda's default: X-Ray off"),
        "EphemeralStorage": ({"Size": 512}, "Lambda's default /tmp, 512 MB"),
        "PackageType": ("Zip", "a zip, as the template's CodeUri is"),
        "SnapStart": ({"ApplyOn": "None"}, "Lambda's default: SnapStart off"),
    },
}


def _same(left: Any, right: Any) -> bool:
    if isinstance(right, str) and isinstance(left, dict | list):
        right = json.loads(right)
    return json.dumps(left, sort_keys=True, default=str) == json.dumps(
        right, sort_keys=True, default=str
    )


def compare(kind: Kind, logical_id: str, properties: dict[str, Any]) -> list[str]:
    """Both ways: each template property against the deployed value, and each deployed
    value against the template or DEFAULTS."""
    name = properties.get(kind.name_property, "")
    ignored = {kind.name_property} | set(IGNORED.get(kind.type_name, {}))
    wanted = {k: v for k, v in present(kind.template_form(properties)).items() if k not in ignored}
    deployed = {k: v for k, v in present(kind.deployed(name)).items() if k not in ignored}
    differences = []
    for key, template_value in wanted.items():
        if key not in deployed:
            differences.append(f"{logical_id}.{key}: template {template_value!r}, not deployed")
        elif not _same(template_value, deployed.get(key)):
            differences.append(
                f"{logical_id}.{key}: template {template_value!r}, deployed {deployed.get(key)!r}"
            )
    defaults = DEFAULTS.get(kind.type_name, {})
    for key in sorted(set(deployed) - set(wanted)):
        if key not in defaults or not _same(defaults[key][0], deployed[key]):
            differences.append(
                f"{logical_id}.{key}: deployed {deployed[key]!r}, not in the template"
            )
    return differences


def differences(stack: Stack, clients: dict[str, Any]) -> list[str]:
    """Every way the stack's resources differ from the deployed ones (empty: they match)."""
    kinds = {kind.type_name: kind(clients) for kind in KINDS}
    resources = {
        logical_id: resource
        for logical_id, resource in stack.template["Resources"].items()
        if stack.active(resource)
    }
    found: list[str] = []
    # Named resources first: the others (an invoke config) are named by a Ref to one of them.
    by_name_first = sorted(
        resources.items(),
        key=lambda item: (
            not isinstance(
                item[1]["Properties"].get(getattr(kinds.get(item[1]["Type"]), "name_property", "")),
                str,
            )
        ),
    )
    for logical_id, resource in by_name_first:
        kind = kinds.get(resource["Type"])
        if kind is None:
            found.append(f"{logical_id}: no comparison for {resource['Type']}")
            continue
        name = stack.resolve(resource["Properties"][kind.name_property])
        located = kind.locate(name)
        if located is None:
            found.append(f"{logical_id}: {name} was not deployed")
            continue
        stack.refs[logical_id] = located[0]
        stack.attributes.update({(logical_id, key): v for key, v in located[1].items()})
    for logical_id, resource in resources.items():
        kind = kinds.get(resource["Type"])
        if kind is not None and logical_id in stack.refs:
            found += compare(kind, logical_id, stack.resolve(resource["Properties"]))
    return found
