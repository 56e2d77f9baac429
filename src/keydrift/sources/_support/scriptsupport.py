"""Helpers shared by the Python and shell readers (file-level assignments, deploy services)."""

from __future__ import annotations

import posixpath
from dataclasses import replace

from keydrift.model.types import Assignment, Location, Service, Step
from keydrift.secret import SecretValue
from keydrift.sources._support.cliargs import CliPair, deploy_target
from keydrift.sources._support.envinfer import (
    ENVIRONMENT_VARIABLES,
    environment_from_name,
    environment_from_variable,
)
from keydrift.sources.interface import ReadContext, SourceResult

__all__ = ["ScriptCollector"]


class ScriptCollector:
    """Collects one script's assignments and the services its deploy commands configure."""

    def __init__(self, path: str, ctx: ReadContext, kind: str) -> None:
        self.path = path
        self.ctx = ctx
        self.kind = kind
        self.result = SourceResult()
        self.services: dict[str, Service] = {}
        self.declared: str | None = None  # from `export ENVIRONMENT=staging` earlier in the file

    def env_for(self, variable: str, hint: str | None = None) -> str | None:
        extra = self.ctx.config.environments
        return (
            (environment_from_name(hint, extra) if hint else None)
            or self.ctx.environment
            or self.declared
            or environment_from_variable(variable, extra)
        )

    def add(
        self,
        variable: str,
        value: str | None,
        line: int,
        note: str,
        *,
        literal: bool = True,
        env_hint: str | None = None,
        default: bool = False,
    ) -> Assignment | None:
        if variable in ENVIRONMENT_VARIABLES and value:
            self.declared = environment_from_name(value, self.ctx.config.environments) or (
                self.declared
            )
            return None
        if not self.ctx.is_secret(variable):
            return None
        loc = Location(self.path, line)
        assignment = Assignment(
            variable=variable,
            value=SecretValue(value) if value is not None else None,
            location=loc,
            source=self.kind,
            environment=self.env_for(variable, env_hint),
            chain=(Step(loc, note),),
            raw=SecretValue(value) if value is not None else None,
            template=self.ctx.template,
            literal=literal and value is not None,
            default=default,
            tracked=self.ctx.tracked,
        )
        self.result.assignments.append(assignment)
        return assignment

    def add_cli(self, args: list[str], pairs: list[CliPair], line: int) -> None:
        """A deploy command: its pairs are assignments and configure the target service."""
        target = deploy_target(args) or posixpath.splitext(posixpath.basename(self.path))[0]
        service_env: str | None = None
        for pair in pairs:
            if pair.key in ENVIRONMENT_VARIABLES and pair.value:
                service_env = environment_from_name(pair.value, self.ctx.config.environments)
        for pair in pairs:
            if pair.key in ENVIRONMENT_VARIABLES:
                continue
            # `$VAR` / `$(cmd)` are expanded when the command runs: a reference, not a literal.
            computed = "$" in pair.value or "`" in pair.value
            assignment = self.add(
                pair.key,
                None if computed else pair.value,
                line,
                f"{pair.flag} {pair.key}=...",
                literal="$" not in pair.value,
                env_hint=service_env or target,
            )
            if assignment is None or pair.flag == "--from-literal":
                continue  # `kubectl create secret --from-literal` makes a Secret, not a service
            service = self.services.get(target)
            if service is None:
                service = Service(
                    name=target,
                    platform="script",
                    environment=service_env
                    or environment_from_name(target, self.ctx.config.environments)
                    or self.ctx.environment
                    or self.declared,
                    location=Location(self.path, line),
                )
                self.services[target] = service
                self.result.services.append(service)
            service.env[pair.key] = replace(assignment, service=target)

    def finish(self) -> SourceResult:
        return self.result
