"""docs/configuration.md and .env.example against the code: every variable the API's
Settings, the worker's config and the deploy config read appears in both, once, and
nothing else does; each documented default is the code's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from lambda_worker import config as worker_config
from scheduler_api.config import Settings
from scripts.deployment.config import DeployConfig
from tests.support.processes import ROOT

DOC = ROOT / "docs" / "configuration.md"
ENV_EXAMPLE = ROOT / ".env.example"
ROW = re.compile(r"^\| `([A-Z][A-Z0-9_]+)` \| ([^|]*) \|", re.M)
ASSIGNMENT = re.compile(r"^([A-Z][A-Z0-9_]+)=", re.M)
# Defaults the worker keeps as constants rather than in a pydantic model.
WORKER_DEFAULTS: dict[str, Any] = {
    "LEDGER_IN_PROGRESS_TIMEOUT_SECONDS": worker_config.DEFAULT_LEDGER_TIMEOUT_SECONDS,
    "LEDGER_TTL_DAYS": worker_config.DEFAULT_LEDGER_TTL_DAYS,
    "LAMBDA_MAX_RETRIES": worker_config.DEFAULT_MAX_RETRIES,
    "METRICS_NAMESPACE": worker_config.DEFAULT_METRICS_NAMESPACE,
    "SCHEDULER_MAX_EVENT_AGE_SECONDS": worker_config.DEFAULT_MAX_EVENT_AGE_SECONDS,
    "LOG_LEVEL": "INFO",
}
# Unset in the model, but a rule rather than nothing: the doc says which.
DERIVED_WHEN_UNSET = {"SCHEDULER_BACKEND", "LOG_FORMAT"}  # computed at start (a factory)


def model_fields(model: type[BaseSettings]) -> dict[str, FieldInfo]:
    return {str(field.alias): field for field in model.model_fields.values() if field.alias}


def code_variables() -> set[str]:
    return (
        set(model_fields(Settings))
        | set(model_fields(DeployConfig))
        | set(worker_config.ENVIRONMENT_VARIABLES)
    )


def documented_rows() -> list[tuple[str, str]]:
    return ROW.findall(DOC.read_text())


def shown(default: Any) -> str:
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    return str(default)


def code_defaults() -> dict[str, Any]:
    defaults: dict[str, Any] = dict(WORKER_DEFAULTS)
    for model in (Settings, DeployConfig):
        for name, field in model_fields(model).items():
            defaults[name] = field.default
    return defaults


def test_the_doc_lists_every_variable_the_code_reads_and_no_other() -> None:
    names = [name for name, _ in documented_rows()]
    assert len(names) == len(set(names)), "a variable is listed twice"
    assert set(names) == code_variables()


def test_env_example_lists_the_same_variables() -> None:
    names = ASSIGNMENT.findall(ENV_EXAMPLE.read_text())
    assert len(names) == len(set(names)), "a variable is assigned twice"
    assert set(names) == code_variables()


def test_each_documented_default_is_the_codes() -> None:
    defaults = code_defaults()
    wrong = []
    for name, documented in documented_rows():
        default = defaults.get(name)
        if name in DERIVED_WHEN_UNSET:
            continue
        if default is None:
            if not documented.strip().startswith("unset"):
                wrong.append(f"{name}: documented {documented.strip()!r}, the code leaves it unset")
        elif not documented.strip().startswith(f"`{shown(default)}`"):
            wrong.append(f"{name}: documented {documented.strip()!r}, the code says {default!r}")
    assert wrong == []


def test_the_readme_sends_readers_to_it() -> None:
    assert "docs/configuration.md" in (ROOT / "README.md").read_text()
    assert Path(DOC).exists()
