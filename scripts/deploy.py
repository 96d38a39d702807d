"""Deploy the worker and everything the scheduler needs to AWS, idempotently; or remove it.

    python scripts/deploy.py deploy [--dry-run] [--zip dist/lambda_worker.zip]
    python scripts/deploy.py destroy [--yes]

Settings come from the environment and .env (LAMBDA_FUNCTION_NAME, LAMBDA_RUNTIME,
LAMBDA_ARCH, AWS_REGION, AWS_ENDPOINT_URL, SCHEDULER_GROUP_NAME, ...; see .env.example).
Every failure is one line on stderr and exit status 1.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import boto3
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
)
from pydantic import ValidationError

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scheduler_api.config import describe_errors
from scripts.deployment import policies, wanted
from scripts.deployment.config import DeployConfig
from scripts.deployment.deployer import Deployer, DeployError, Sleep
from scripts.deployment.destroy import destroy
from scripts.deployment.function import ensure_function, ensure_invoke_config
from scripts.deployment.ledger_table import ensure_ledger_table
from scripts.deployment.schedule_table import ensure_schedule_table
from scripts.package_lambda import Package, PackageError, build, package_of

ACCESS_DENIED = ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation")


def deploy(deployer: Deployer, package: Package) -> dict[str, str]:
    """Every resource, in dependency order; returns the settings the API needs."""
    config = deployer.config
    account = deployer.account_id()
    failures = deployer.ensure_queue(wanted.failure_queue(config))
    dlq = deployer.ensure_queue(wanted.scheduler_dlq(config))
    ledger = ensure_ledger_table(deployer)
    ensure_schedule_table(deployer)  # the API's, not the worker's: no role of deploy's uses it
    log_group = deployer.arn("logs", f"log-group:{wanted.log_group_name(config.function_name)}")
    execution_role, _ = deployer.ensure_role(
        config.execution_role_name,
        "iam role (lambda execution)",
        policies.lambda_trust(),
        policies.execution_permissions(log_group, failures, ledger),
    )
    function_arn = ensure_function(deployer, package, execution_role)
    ensure_invoke_config(deployer, failures)
    deployer.ensure_group()
    scheduler_role, _ = deployer.ensure_role(
        config.scheduler_role_name,
        "iam role (scheduler)",
        policies.scheduler_trust(account),
        policies.scheduler_permissions(function_arn, dlq),
    )
    settings = wanted.api_settings(
        region=config.region,
        function_arn=function_arn,
        scheduler_role_arn=scheduler_role,
        dlq_arn=dlq,
        ledger_table_name=config.ledger_table_name,
        schedule_table_name=config.schedule_table_name,
        group_name=config.group_name,
    )
    return {key: str(value) for key, value in settings.items()}


def _confirmed(config: DeployConfig, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        raise DeployError("refusing to destroy without --yes (no terminal to confirm on)")
    answer = input(
        f"Delete {config.function_name}, its roles, queues and every schedule in group "
        f"{config.group_name} ({config.region})? Type the function name to confirm: "
    )
    return answer.strip() == config.function_name


def run(args: argparse.Namespace, session: boto3.session.Session | None, sleep: Sleep) -> int:
    config = DeployConfig()
    session = session or boto3.session.Session(region_name=config.region)
    deployer = Deployer(session, config, dry_run=args.dry_run, sleep=sleep)
    if args.command == "destroy":
        if not _confirmed(config, args.yes):
            print("destroy: cancelled")
            return 1
        destroy(deployer)
        return 0
    package = package_of(args.zip) if args.zip else build(config.runtime, config.arch)
    print(package.summary())
    settings = deploy(deployer, package)
    if args.dry_run:
        print("\n(dry run: nothing was changed)")
        return 0
    print("\n# Settings for the scheduler API (.env):")
    for key, value in settings.items():
        print(f"{key}={value}")
    print(
        "# The scheduler API's own identity needs iam/scheduler-api-policy.json, including"
        f" lambda:InvokeFunction on {settings['SCHEDULER_LAMBDA_ARN']} (run now)."
    )
    return 0


def one_line(exc: Exception, region: str) -> str:
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    if isinstance(exc, EndpointConnectionError):
        endpoint = exc.kwargs.get("endpoint_url", "the AWS endpoint")
        return f"cannot reach {endpoint}: check AWS_REGION={region} and that the service runs there"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "Unknown")
        message = (error.get("Message") or "").strip().splitlines()[:1]
        if code in ACCESS_DENIED:
            return (
                f"access denied for {exc.operation_name}: the deploying identity needs the "
                f"policy in iam/deployer-policy.json (docs/deploy.md); AWS said: {''.join(message)}"
            )
        return f"{exc.operation_name} failed: {code}: {''.join(message)}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def main(
    argv: list[str] | None = None,
    *,
    session: boto3.session.Session | None = None,
    sleep: Sleep = time.sleep,
) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["deploy", "destroy"], nargs="?", default="deploy")
    parser.add_argument("--dry-run", action="store_true", help="show what would change")
    parser.add_argument("--yes", action="store_true", help="destroy without asking")
    parser.add_argument("--zip", type=Path, help="a package built by package_lambda.py")
    args = parser.parse_args(argv)
    try:
        return run(args, session, sleep)
    except ValidationError as exc:
        print(f"{args.command}: bad setting: {describe_errors(exc)}", file=sys.stderr)
        return 2
    except (DeployError, PackageError, ClientError, BotoCoreError) as exc:
        region = session.region_name if session else DeployConfig().region
        print(f"{args.command}: {one_line(exc, str(region))}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
