"""How each deployed resource type is read back through boto3: one class per type with the
same shape (`locate` by the template's name, `deployed`: the whole configuration, named as
the template names its properties). tests/support/deployed_resources.py compares them.

Left out of `deployed`: what AWS computes (ARNs, timestamps, counts, state). What moto cannot
answer is not read: Lambda's runtime-management and recursion configs, DynamoDB's
contributor insights and Kinesis destinations.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from botocore.exceptions import ClientError

Located = tuple[Any, dict[str, Any]]  # (what Ref gives, attributes for Fn::GetAtt)


def present(values: dict[str, Any]) -> dict[str, Any]:
    """An empty value ([], {}, None, "") counts as absent."""
    return {key: value for key, value in values.items() if value not in ([], {}, None, "")}


class Kind:
    """One resource type: find the deployed one by the name in the template, read its whole
    configuration."""

    type_name: ClassVar[str]
    name_property: ClassVar[str]

    def __init__(self, clients: dict[str, Any]) -> None:
        self.clients = clients

    def locate(self, name: str) -> Located | None:
        raise NotImplementedError

    def deployed(self, name: str) -> dict[str, Any]:
        """The deployed configuration, by template property name (AWS-computed values such
        as ARNs, timestamps and counts left out)."""
        raise NotImplementedError

    def template_form(self, properties: dict[str, Any]) -> dict[str, Any]:
        """The template's properties as `deployed` spells them (order, strings)."""
        return properties


class Queue(Kind):
    type_name, name_property = "AWS::SQS::Queue", "QueueName"
    # Counts and stamps SQS keeps; the ARN is the queue's name.
    COMPUTED = ("ApproximateNumberOfMessages", "CreatedTimestamp", "LastModifiedTimestamp")

    def locate(self, name: str) -> Located | None:
        try:
            url = self.clients["sqs"].get_queue_url(QueueName=name)["QueueUrl"]
        except ClientError:
            return None
        return url, {"Arn": self._attributes(url)["QueueArn"], "QueueName": name}

    def _attributes(self, url: str) -> dict[str, str]:
        found: dict[str, str] = self.clients["sqs"].get_queue_attributes(
            QueueUrl=url, AttributeNames=["All"]
        )["Attributes"]
        return found

    def deployed(self, name: str) -> dict[str, Any]:
        sqs = self.clients["sqs"]
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = {
            key: value
            for key, value in self._attributes(url).items()
            if not key.startswith(self.COMPUTED) and key != "QueueArn"
        }
        tags = sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
        return {**attributes, "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}

    def template_form(self, properties: dict[str, Any]) -> dict[str, Any]:
        return {
            key: value if key == "Tags" else str(value).lower() if isinstance(value, bool)
            else str(value)
            for key, value in properties.items()
        }  # fmt: skip


class Table(Kind):
    type_name, name_property = "AWS::DynamoDB::Table", "TableName"
    # What describe_table says about the table rather than how it was asked for.
    COMPUTED = frozenset(
        {
            "TableName", "TableStatus", "CreationDateTime", "TableSizeBytes", "ItemCount",
            "TableArn", "TableId", "LatestStreamLabel", "LatestStreamArn", "ArchivalSummary",
            "RestoreSummary", "GlobalTableVersion", "Replicas",
        }
    )  # fmt: skip
    READ = frozenset(
        {
            "KeySchema", "AttributeDefinitions", "BillingModeSummary", "GlobalSecondaryIndexes",
            "LocalSecondaryIndexes", "ProvisionedThroughput", "StreamSpecification",
            "SSEDescription", "TableClassSummary", "DeletionProtectionEnabled", "WarmThroughput",
            "OnDemandThroughput",
        }
    )  # fmt: skip

    def locate(self, name: str) -> Located | None:
        try:
            table = self.clients["dynamodb"].describe_table(TableName=name)["Table"]
        except ClientError:
            return None
        return name, {"Arn": table["TableArn"]}

    def deployed(self, name: str) -> dict[str, Any]:
        dynamodb = self.clients["dynamodb"]
        table = dynamodb.describe_table(TableName=name)["Table"]
        billing = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
        found: dict[str, Any] = {
            f"unread {key}": value
            for key, value in table.items()
            if key not in self.COMPUTED | self.READ
        }  # a field this class does not know yet: a difference until it does
        found |= {
            "KeySchema": table["KeySchema"],
            "AttributeDefinitions": _by(table["AttributeDefinitions"], "AttributeName"),
            "BillingMode": billing,
            "GlobalSecondaryIndexes": [
                {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
                for index in table.get("GlobalSecondaryIndexes", [])
            ],
            "LocalSecondaryIndexes": table.get("LocalSecondaryIndexes"),
            "DeletionProtectionEnabled": table.get("DeletionProtectionEnabled"),
            "TableClass": table.get("TableClassSummary", {}).get("TableClass"),
            "OnDemandThroughput": table.get("OnDemandThroughput"),
        }
        if billing == "PROVISIONED":
            found["ProvisionedThroughput"] = {
                key: table["ProvisionedThroughput"][key]
                for key in ("ReadCapacityUnits", "WriteCapacityUnits")
            }
        if "WarmThroughput" in table:
            warm = table["WarmThroughput"]
            found["WarmThroughput"] = {k: v for k, v in warm.items() if k != "Status"}
        stream = table.get("StreamSpecification", {})
        if stream.get("StreamEnabled"):
            found["StreamSpecification"] = {"StreamViewType": stream["StreamViewType"]}
        sse = table.get("SSEDescription", {})
        if sse.get("Status") in ("ENABLED", "ENABLING"):  # absent: AWS's own key
            found["SSESpecification"] = present(
                {"SSEEnabled": True, "SSEType": sse.get("SSEType"),
                 "KMSMasterKeyId": sse.get("KMSMasterKeyArn")}
            )  # fmt: skip
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
            found["TimeToLiveSpecification"] = {
                "AttributeName": ttl["AttributeName"],
                "Enabled": True,
            }
        backups = dynamodb.describe_continuous_backups(TableName=name)
        recovery = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
        enabled = recovery["PointInTimeRecoveryStatus"] == "ENABLED"
        found["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": enabled}
        found["Tags"] = dynamodb.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"]
        return found

    def template_form(self, properties: dict[str, Any]) -> dict[str, Any]:
        return {
            **properties,
            "AttributeDefinitions": _by(
                properties.get("AttributeDefinitions", []), "AttributeName"
            ),
        }


def _by(items: list[Any], key: str) -> list[Any]:
    return sorted(items, key=lambda item: item[key])


def _decoded(document: Any) -> Any:
    return json.loads(document) if isinstance(document, str) else document


class Role(Kind):
    type_name, name_property = "AWS::IAM::Role", "RoleName"
    COMPUTED = frozenset({"RoleName", "RoleId", "Arn", "CreateDate", "RoleLastUsed", "Tags"})

    def locate(self, name: str) -> Located | None:
        try:
            role = self.clients["iam"].get_role(RoleName=name)["Role"]
        except ClientError:
            return None
        return name, {"Arn": role["Arn"], "RoleId": role["RoleId"]}

    def deployed(self, name: str) -> dict[str, Any]:
        iam = self.clients["iam"]
        role = iam.get_role(RoleName=name)["Role"]
        found = {key: value for key, value in role.items() if key not in self.COMPUTED}
        if "PermissionsBoundary" in role:
            found["PermissionsBoundary"] = role["PermissionsBoundary"]["PermissionsBoundaryArn"]
        found["Policies"] = [
            {
                "PolicyName": policy,
                "PolicyDocument": _decoded(
                    iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
                ),
            }
            for policy in sorted(iam.list_role_policies(RoleName=name)["PolicyNames"])
        ]
        attached = iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
        found["ManagedPolicyArns"] = sorted(policy["PolicyArn"] for policy in attached)
        found["Tags"] = iam.list_role_tags(RoleName=name)["Tags"]
        return found

    def template_form(self, properties: dict[str, Any]) -> dict[str, Any]:
        form = {**properties, "Policies": _by(properties.get("Policies", []), "PolicyName")}
        if "ManagedPolicyArns" in properties:
            form["ManagedPolicyArns"] = sorted(properties["ManagedPolicyArns"])
        return form


class Function(Kind):
    type_name, name_property = "AWS::Lambda::Function", "FunctionName"
    # What Lambda reports about the code and its state, not how it is configured.
    COMPUTED = frozenset(
        {
            "FunctionName", "FunctionArn", "CodeSize", "CodeSha256", "LastModified", "Version",
            "State", "StateReason", "StateReasonCode", "LastUpdateStatus",
            "LastUpdateStatusReason", "LastUpdateStatusReasonCode", "RevisionId", "MasterArn",
            "SigningProfileVersionArn", "SigningJobArn", "RuntimeVersionConfig",
            "ResponseMetadata",
        }
    )  # fmt: skip

    def locate(self, name: str) -> Located | None:
        try:
            found = self.clients["lambda"].get_function_configuration(FunctionName=name)
        except ClientError:
            return None
        return name, {"Arn": found["FunctionArn"]}

    def deployed(self, name: str) -> dict[str, Any]:
        lam = self.clients["lambda"]
        current = lam.get_function_configuration(FunctionName=name)
        found = {key: value for key, value in current.items() if key not in self.COMPUTED}
        if "KMSKeyArn" in found:
            found["KmsKeyArn"] = found.pop("KMSKeyArn")
        found["Layers"] = [layer["Arn"] for layer in current.get("Layers", [])]
        if "SnapStart" in current:
            found["SnapStart"] = {"ApplyOn": current["SnapStart"]["ApplyOn"]}
        vpc = current.get("VpcConfig", {})
        found["VpcConfig"] = present(
            {k: v for k, v in vpc.items() if k in ("SubnetIds", "SecurityGroupIds")}
        )
        logging = current.get("LoggingConfig")
        if logging == {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"}:
            found.pop("LoggingConfig")  # Lambda's default: plain text, its own log group
        concurrency = lam.get_function_concurrency(FunctionName=name)
        found["ReservedConcurrentExecutions"] = concurrency.get("ReservedConcurrentExecutions")
        return found


class InvokeConfig(Kind):
    type_name, name_property = "AWS::Lambda::EventInvokeConfig", "FunctionName"

    def locate(self, name: str) -> Located | None:
        return name, {}

    def deployed(self, name: str) -> dict[str, Any]:
        current = self.clients["lambda"].get_function_event_invoke_config(
            FunctionName=name, Qualifier="$LATEST"
        )  # deploy sets no other qualifier
        skip = ("FunctionArn", "LastModified", "ResponseMetadata")
        return {"Qualifier": "$LATEST"} | {k: v for k, v in current.items() if k not in skip}


class ScheduleGroup(Kind):
    type_name, name_property = "AWS::Scheduler::ScheduleGroup", "Name"

    def locate(self, name: str) -> Located | None:
        try:
            group = self.clients["scheduler"].get_schedule_group(Name=name)
        except ClientError:
            return None
        return name, {"Arn": group["Arn"]}

    def deployed(self, name: str) -> dict[str, Any]:
        scheduler = self.clients["scheduler"]
        group = scheduler.get_schedule_group(Name=name)
        skip = ("Arn", "Name", "State", "CreationDate", "LastModificationDate", "ResponseMetadata")
        found = {key: value for key, value in group.items() if key not in skip}
        found["Tags"] = scheduler.list_tags_for_resource(ResourceArn=group["Arn"])["Tags"]
        return found


KINDS = (Queue, Table, Role, Function, InvokeConfig, ScheduleGroup)
