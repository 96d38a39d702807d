"""The worker function: its code (only when the zip's SHA-256 changed), its configuration,
and its asynchronous-invoke settings (retries, event age, on-failure destination)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from scripts.deployment import wanted
from scripts.deployment.deployer import (
    FUNCTION_WAIT_TRIES,
    ROLE_PROPAGATION_TRIES,
    Deployer,
    DeployError,
    _missing,
)
from scripts.package_lambda import Package


def wanted_configuration(deployer: Deployer, role_arn: str) -> dict[str, Any]:
    config = deployer.config
    secret = config.callback_secret.get_secret_value() if config.callback_secret else None
    return wanted.function_configuration(config, role_arn, secret)


def _differences(current: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    return [key for key, value in wanted.items() if current.get(key) != value]


def ensure_function(deployer: Deployer, package: Package, role_arn: str) -> str:
    """Create or update the function; returns its ARN."""
    name = deployer.config.function_name
    configuration = wanted_configuration(deployer, role_arn)
    try:
        current = deployer.lambda_.get_function_configuration(FunctionName=name)
    except ClientError as exc:
        if not _missing(exc, "ResourceNotFoundException"):
            raise
        deployer.created("lambda function", name)
        if deployer.dry_run:
            return deployer.arn("lambda", f"function:{name}")
        return _create(deployer, package, configuration)
    arn: str = current["FunctionArn"]
    changed = _differences(dict(current), configuration)
    code_changed = current.get("CodeSha256") != package.code_sha256
    arch_changed = current.get("Architectures", ["x86_64"]) != [deployer.config.arch]
    if changed:
        deployer.updated("lambda configuration", f"{name} ({', '.join(changed)})")
        if not deployer.dry_run:
            deployer.lambda_.update_function_configuration(FunctionName=name, **configuration)
            wait_until_ready(deployer)
    if code_changed or arch_changed:
        deployer.updated("lambda code", f"{name} (sha256 {package.sha256[:12]})")
        if not deployer.dry_run:
            deployer.lambda_.update_function_code(
                FunctionName=name,
                ZipFile=package.path.read_bytes(),
                Architectures=[deployer.config.arch],
            )
            wait_until_ready(deployer)
    if not changed and not code_changed and not arch_changed:
        deployer.report("unchanged", "lambda function", name)
    return arn


def _create(deployer: Deployer, package: Package, configuration: dict[str, Any]) -> str:
    """CreateFunction, retried while a new role is still propagating through IAM."""
    code = package.path.read_bytes()
    for attempt in range(1, ROLE_PROPAGATION_TRIES + 1):
        try:
            response = deployer.lambda_.create_function(
                FunctionName=deployer.config.function_name,
                Code={"ZipFile": code},
                Architectures=[deployer.config.arch],
                PackageType="Zip",
                Description=wanted.FUNCTION_DESCRIPTION,
                **configuration,
            )
        except ClientError as exc:
            message = exc.response.get("Error", {}).get("Message", "")
            propagating = _missing(exc, "InvalidParameterValueException") and (
                "cannot be assumed" in message
            )
            if not propagating or attempt == ROLE_PROPAGATION_TRIES:
                raise
            deployer.sleep(min(2.0**attempt, 30.0))
            continue
        wait_until_ready(deployer)
        arn: str = response["FunctionArn"]
        return arn
    raise AssertionError("unreachable")


def wait_until_ready(deployer: Deployer) -> None:
    """Until the function is Active and its last update is done (Lambda refuses another
    update while one is in progress)."""
    name = deployer.config.function_name
    for _ in range(FUNCTION_WAIT_TRIES):
        current = deployer.lambda_.get_function_configuration(FunctionName=name)
        state, update = current.get("State", "Active"), current.get("LastUpdateStatus")
        if state == "Failed" or update == "Failed":
            reason = current.get("StateReason") or current.get("LastUpdateStatusReason") or ""
            raise DeployError(f"function {name} failed to become ready: {reason}")
        if state == "Active" and update in (None, "Successful"):
            return
        deployer.sleep(2.0)
    raise DeployError(f"function {name} was not ready after {FUNCTION_WAIT_TRIES} checks")


def ensure_invoke_config(deployer: Deployer, failure_queue_arn: str) -> None:
    """Lambda's async retries and event age, and where an event goes after the last one."""
    config = deployer.config
    name = config.function_name
    settings = wanted.invoke_config(config, failure_queue_arn)
    try:
        current = deployer.lambda_.get_function_event_invoke_config(FunctionName=name)
    except ClientError as exc:
        if not _missing(exc, "ResourceNotFoundException"):
            raise
        current = None
    kind = "lambda async invoke config"
    if current is not None and not _differences(dict(current), settings):
        deployer.report("unchanged", kind, name)
        return
    if current is None:
        deployer.created(kind, name)
    else:
        deployer.updated(kind, name)
    if deployer.dry_run:
        return
    if current is None:
        deployer.lambda_.put_function_event_invoke_config(FunctionName=name, **settings)
    else:
        deployer.lambda_.update_function_event_invoke_config(FunctionName=name, **settings)
