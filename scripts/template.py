"""Write the CloudFormation (SAM) template of what `make deploy-lambda` creates.

    python scripts/template.py [--output dist/template.json] [--no-env-file]

Settings come from the environment and .env, as for deploy (see .env.example); with
--no-env-file the .env is not read (`make lint` builds the template so, whatever a
developer's .env holds). Deploy it
with `sam deploy --guided --template-file dist/template.json` or `aws cloudformation deploy`
(docs/deploy.md). Every failure is one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import ValidationError

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scheduler_api.config import describe_errors
from scripts.deployment import template
from scripts.deployment.config import DeployConfig

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "dist" / "template.json"
AWS_OWN_GROUP = "default"  # every account has it: a stack that creates it can never deploy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write it")
    parser.add_argument(
        "--no-env-file", action="store_true", help="read settings from the environment only"
    )
    args = parser.parse_args(argv)
    try:
        config = DeployConfig(_env_file=None) if args.no_env_file else DeployConfig()
    except ValidationError as exc:
        print(f"template: bad setting: {describe_errors(exc)}", file=sys.stderr)
        return 2
    if config.group_name == AWS_OWN_GROUP:
        print(
            "template: SCHEDULER_GROUP_NAME=default is AWS's own group, which a stack cannot "
            "create: choose another name (make deploy-lambda can use default)",
            file=sys.stderr,
        )
        return 2
    document = template.build(config)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"wrote {args.output} ({len(document['Resources'])} resources)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
