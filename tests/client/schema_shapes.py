"""What a property's JSON schema says about its values, comparable between the server's
OpenAPI document and a client model's `model_json_schema()`: the JSON types (with "null"
for Optional), the format, and the enum values, at the property itself and at its items
(`[]`) and dict values (`{}`). Titles, descriptions and defaults are not compared.

$refs are resolved (the server's `#/components/schemas/X`, the client's `#/$defs/X`); a
referenced model is only "object" here, since it is compared field by field on its own. An
anyOf is the union of its branches, without the client's `x-unrecognized` one (the open
branch that keeps a newer server's enum values, scheduler_client.models.Unrecognized)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Schemas = Mapping[str, Any]


@dataclass
class Facts:
    types: set[str] = field(default_factory=set)
    formats: set[str] = field(default_factory=set)
    enum: set[Any] | None = None
    items: Facts | None = None
    values: Facts | None = None

    def merge(self, other: Facts) -> None:
        self.types |= other.types
        self.formats |= other.formats
        if other.enum is not None:
            self.enum = (self.enum or set()) | other.enum
        for part in ("items", "values"):
            theirs = getattr(other, part)
            if theirs is not None:
                mine = getattr(self, part)
                if mine is None:
                    setattr(self, part, theirs)
                else:
                    mine.merge(theirs)

    def typed(self) -> str:
        """The types and formats, without the enum: e.g. "string(date-time)|null"."""
        text = "|".join(sorted(self.types)) or "any"
        return f"{text}({','.join(sorted(self.formats))})" if self.formats else text


def _resolve(schema: Schemas, named: Schemas) -> Schemas:
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return schema
    target: Schemas = named[ref.rsplit("/", 1)[-1]]
    return target


def facts(schema: Schemas, named: Schemas) -> Facts:
    """The Facts of one property's schema; `named` holds the schemas its $refs name."""
    schema = _resolve(schema, named)
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        parts = [
            facts(branch, named)
            for branch in branches
            if not _resolve(branch, named).get("x-unrecognized")
        ]
        found = Facts()
        for part in parts:
            found.merge(part)
        if any(part.enum is None and part.types != {"null"} for part in parts):
            found.enum = None  # an open branch (e.g. a plain str): not an enum
        return found
    kind = schema.get("type", [])
    types = set(kind) if isinstance(kind, list) else {kind}
    if "properties" in schema:
        return Facts(types={"object"})  # a model: compared on its own
    found = Facts(types=types, formats={schema["format"]} if "format" in schema else set())
    if "enum" in schema:
        found.enum = set(schema["enum"])
    elif "const" in schema:
        found.enum = {schema["const"]}
    if "array" in types and isinstance(schema.get("items"), Mapping):
        found.items = facts(schema["items"], named)
    if "object" in types:  # a dict's values: additionalProperties or patternProperties
        value_schemas = list(schema.get("patternProperties", {}).values())
        if isinstance(schema.get("additionalProperties"), Mapping):
            value_schemas.append(schema["additionalProperties"])
        for value_schema in value_schemas:
            if found.values is None:
                found.values = facts(value_schema, named)
            else:
                found.values.merge(facts(value_schema, named))
    return found


def _levels(name: str, found: Facts) -> dict[str, Facts]:
    levels = {name: found}
    if found.items is not None:
        levels |= _levels(f"{name}[]", found.items)
    if found.values is not None:
        levels |= _levels(f"{name}{{}}", found.values)
    return levels


def differences(name: str, server: Facts, client: Facts) -> list[str]:
    """How one property's type and enum differ, level by level."""
    found: list[str] = []
    ours, theirs = _levels(name, client), _levels(name, server)
    for level in sorted(ours.keys() | theirs.keys()):
        on_server, in_client = theirs.get(level, Facts()), ours.get(level, Facts())
        if on_server.typed() != in_client.typed():
            found.append(f"type of {level}: server {on_server.typed()}, client {in_client.typed()}")
        server_enum, client_enum = on_server.enum or set(), in_client.enum or set()
        if (on_server.enum is None) != (in_client.enum is None):
            side = "server" if in_client.enum is None else "client"
            found.append(f"enum of {level} on the {side} only")
            continue
        if server_enum - client_enum:
            found.append(f"enum of {level}, server only: {sorted(server_enum - client_enum)}")
        if client_enum - server_enum:
            found.append(f"enum of {level}, client only: {sorted(client_enum - server_enum)}")
    return found
