"""Each resource of a (translated) template checked against what the deployer created, read
back through boto3: one class per resource type with the same shape (`locate`, `compare`).

A template property no class checks is itself a difference ("not compared"), unless it is
named in IGNORED with the reason; so a new property cannot slip past the comparison.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from tests.support.cloudformation import Stack

Located = tuple[Any, dict[str, Any]]  # (what Ref gives, attributes for Fn::GetAtt)

# Properties that differ by design between the two ways of deploying.
IGNORED: dict[str, dict[str, str]] = {
    "AWS::IAM::Role": {"Description": "each says which tool created the role"},
    "AWS::Lambda::Function": {
        "Code": "the template's code is in S3, deploy uploads the zip itself",
        "Tags": "SAM's own lambda:createdBy tag",
    },
}


def _same(left: Any, right: Any) -> bool:
    if isinstance(right, str) and isinstance(left, dict | list):
        right = json.loads(right)
    return json.dumps(left, sort_keys=True) == json.dumps(right, sort_keys=True)


class Kind:
    """One resource type: find the deployed one by the name in the template, then check
    each of the template's properties against it."""

    type_name: ClassVar[str]
    name_property: ClassVar[str]

    def __init__(self, clients: dict[str, Any]) -> None:
        self.clients = clients

    def locate(self, name: str) -> Located | None:
        raise NotImplementedError

    def checks(self, name: str, properties: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
        """(property, in the template, deployed) for each property this kind checks."""
        raise NotImplementedError

    def compare(self, logical_id: str, properties: dict[str, Any]) -> list[str]:
        name = properties.get(self.name_property, "")
        checked = {self.name_property} | set(IGNORED.get(self.type_name, {}))
        differences = []
        for key, template_value, deployed in self.checks(name, properties):
            checked.add(key)
            if not _same(template_value, deployed):
                differences.append(
                    f"{logical_id}.{key}: template {template_value!r}, deployed {deployed!r}"
                )
        differences += [f"{logical_id}.{key}: not compared" for key in set(properties) - checked]
        return differences


class Queue(Kind):
    type_name, name_property = "AWS::SQS::Queue", "QueueName"

    def locate(self, name: str) -> Located | None:
        try:
            url = self.clients["sqs"].get_queue_url(QueueName=name)["QueueUrl"]
        except ClientError:
            return None
        attributes = self._attributes(name, url)
        return url, {"Arn": attributes["QueueArn"], "QueueName": name}

    def _attributes(self, name: str, url: str | None = None) -> dict[str, str]:
        url = url or self.clients["sqs"].get_queue_url(QueueName=name)["QueueUrl"]
        found: dict[str, str] = self.clients["sqs"].get_queue_attributes(
            QueueUrl=url, AttributeNames=["All"]
        )["Attributes"]
        return found

    def checks(self, name: str, properties: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
        deployed = self._attributes(name)
        for key, value in properties.items():
            if key != self.name_property:
                yield key, str(value), deployed.get(key)


class Table(Kind):
    type_name, name_property = "AWS::DynamoDB::Table", "TableName"

    def locate(self, name: str) -> Located | None:
        try:
            table = self.clients["dynamodb"].describe_table(TableName=name)["Table"]
        except ClientError:
            return None
        return name, {"Arn": table["TableArn"]}

    def checks(self, name: str, properties: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
        dynamodb = self.clients["dynamodb"]
        table = dynamodb.describe_table(TableName=name)["Table"]
        by_name = sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"])
        yield "KeySchema", properties.get("KeySchema"), table["KeySchema"]
        wanted = sorted(
            properties.get("AttributeDefinitions", []), key=lambda a: a["AttributeName"]
        )
        yield "AttributeDefinitions", wanted, by_name
        yield (
            "BillingMode",
            properties.get("BillingMode"),
            table["BillingModeSummary"]["BillingMode"],
        )
        indexes = [
            {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
            for index in table.get("GlobalSecondaryIndexes", [])
        ]
        yield "GlobalSecondaryIndexes", properties.get("GlobalSecondaryIndexes", []), indexes
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        deployed_ttl = (
            {"AttributeName": ttl["AttributeName"], "Enabled": True}
            if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
            else None
        )
        yield "TimeToLiveSpecification", properties.get("TimeToLiveSpecification"), deployed_ttl


class Role(Kind):
    type_name, name_property = "AWS::IAM::Role", "RoleName"

    def locate(self, name: str) -> Located | None:
        try:
            role = self.clients["iam"].get_role(RoleName=name)["Role"]
        except ClientError:
            return None
        return name, {"Arn": role["Arn"], "RoleId": role["RoleId"]}

    def checks(self, name: str, properties: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
        iam = self.clients["iam"]
        role = iam.get_role(RoleName=name)["Role"]
        yield (
            "AssumeRolePolicyDocument",
            properties["AssumeRolePolicyDocument"],
            role["AssumeRolePolicyDocument"],
        )
        deployed = [
            {
                "PolicyName": policy,
                "PolicyDocument": iam.get_role_policy(RoleName=name, PolicyName=policy)[
                    "PolicyDocument"
                ],
            }
            for policy in sorted(iam.list_role_policies(RoleName=name)["PolicyNames"])
        ]
        yield (
            "Policies",
            sorted(properties.get("Policies", []), key=lambda p: p["PolicyName"]),
            [{**p, "PolicyDocument": _decoded(p["PolicyDocument"])} for p in deployed],
        )


def _decoded(document: Any) -> Any:
    return json.loads(document) if isinstance(document, str) else document


class Function(Kind):
    type_name, name_property = "AWS::Lambda::Function", "FunctionName"
    CONFIGURATION = ("Runtime", "Handler", "Role", "MemorySize", "Timeout", "Description")

    def locate(self, name: str) -> Located | None:
        try:
            found = self.clients["lambda"].get_function_configuration(FunctionName=name)
        except ClientError:
            return None
        return name, {"Arn": found["FunctionArn"]}

    def checks(self, name: str, properties: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
        current = self.clients["lambda"].get_function_configuration(FunctionName=name)
        for key in self.CONFIGURATION:
            yield key, properties.get(key), current.get(key)
        yield "Environment", properties.get("Environment"), current.get("Environment")
        yield "Architectures", properties.get("Architectures"), current.get("Architectures")


class InvokeConfig(Kind):
    type_name, name_property = "AWS::Lambda::EventInvokeConfig", "FunctionName"
    SETTINGS = ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")

    def locate(self, name: str) -> Located | None:
        return name, {}

    def checks(self, name: str, properties: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
        current = self.clients["lambda"].get_function_event_invoke_config(
            FunctionName=name, Qualifier=properties.get("Qualifier", "$LATEST")
        )
        yield "Qualifier", properties.get("Qualifier"), "$LATEST"  # deploy sets no other
        for key in self.SETTINGS:
            yield key, properties.get(key), current.get(key)


class ScheduleGroup(Kind):
    type_name, name_property = "AWS::Scheduler::ScheduleGroup", "Name"

    def locate(self, name: str) -> Located | None:
        try:
            group = self.clients["scheduler"].get_schedule_group(Name=name)
        except ClientError:
            return None
        return name, {"Arn": group["Arn"]}

    def checks(self, name: str, properties: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
        yield from ()


KINDS = (Queue, Table, Role, Function, InvokeConfig, ScheduleGroup)


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
            found += kind.compare(logical_id, stack.resolve(resource["Properties"]))
    return found
