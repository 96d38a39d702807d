"""A template as CloudFormation would see it: SAM translated by the real aws-sam-translator,
then conditions and intrinsic functions evaluated against a deployment's real names and ARNs.

Only the intrinsics the project's template uses are known; any other raises, so a template
that starts using one cannot be compared by accident.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

import boto3
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator

NO_VALUE = object()  # AWS::NoValue: the key or item is removed


def translate(template: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    """The SAM transform, as CloudFormation runs it (no managed policies are named)."""
    session = boto3.session.Session(region_name=parameters["AWS::Region"])
    translated: dict[str, Any] = Translator(None, Parser(), boto_session=session).translate(
        copy.deepcopy(template), parameter_values=dict(parameters), get_managed_policy_map=dict
    )
    return translated


@dataclass
class Stack:
    """Evaluates a translated template: parameters and pseudo parameters by name, each
    resource's Ref and attributes from what was actually deployed."""

    template: dict[str, Any]
    parameters: dict[str, Any]
    refs: dict[str, Any] = field(default_factory=dict)
    attributes: dict[tuple[str, str], Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, spec in self.template.get("Parameters", {}).items():
            self.parameters.setdefault(name, spec.get("Default"))

    def refusals(self) -> list[str]:
        """What CloudFormation refuses before creating anything: each parameter against its
        AllowedPattern (a whole-string match, as CloudFormation's), AllowedValues and
        MinLength, then each rule whose condition holds, by its assertions."""
        found = []
        for name, spec in self.template.get("Parameters", {}).items():
            value = str(self.parameters.get(name))
            pattern = spec.get("AllowedPattern")
            allowed = spec.get("AllowedValues")
            if (
                (pattern is not None and re.fullmatch(pattern, value) is None)
                or (allowed is not None and value not in allowed)
                or len(value) < spec.get("MinLength", 0)
            ):
                found.append(f"{name}: {spec.get('ConstraintDescription', 'not allowed')}")
        for name, rule in self.template.get("Rules", {}).items():
            if "RuleCondition" in rule and not self.resolve(rule["RuleCondition"]):
                continue
            found += [
                f"{name}: {assertion['AssertDescription']}"
                for assertion in rule["Assertions"]
                if not self.resolve(assertion["Assert"])
            ]
        return found

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template["Conditions"][name]))

    def active(self, resource: dict[str, Any]) -> bool:
        return "Condition" not in resource or self.condition(resource["Condition"])

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                return self._intrinsic(key, argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _intrinsic(self, key: str, argument: Any) -> Any:
        if key == "Ref":
            return self._ref(argument)
        if key == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".")
            return self.attributes[(logical_id, attribute)]
        if key == "Fn::Sub":
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(self._sub(m.group(1))), argument)
        if key == "Fn::Join":
            separator, parts = argument
            return separator.join(str(part) for part in self.resolve(parts))
        if key == "Fn::If":
            name, then, otherwise = argument
            return self.resolve(then if self.condition(name) else otherwise)
        if key == "Fn::Equals":
            left, right = self.resolve(argument)
            return left == right
        if key == "Fn::Not":
            return not self.resolve(argument[0])
        if key == "Condition":
            return self.condition(argument)
        raise NotImplementedError(f"{key} is not evaluated here")

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        return self.refs[name]

    def _sub(self, name: str) -> Any:
        if "." in name:
            logical_id, attribute = name.split(".", 1)
            return self.attributes[(logical_id, attribute)]
        return self._ref(name)
