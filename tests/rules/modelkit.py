"""Hand-built models for rule unit tests (the end-to-end tests use build_model on assets)."""

from __future__ import annotations

from keydrift.model.config import Config
from keydrift.model.types import Assignment, Effective, Location, Model, Service
from keydrift.presets.interface import preset_by_id
from keydrift.secret import SecretValue
from keydrift.spec import DEFAULT_JWT_SPEC, DEFAULT_PRODUCTION_LIKE, SecretSpec


def assign(
    variable: str,
    value: str | None,
    path: str = ".env",
    line: int = 1,
    *,
    env: str | None = None,
    source: str = "dotenv",
    service: str | None = None,
    **kw: object,
) -> Assignment:
    return Assignment(
        variable=variable,
        value=None if value is None else SecretValue(value),
        location=Location(path, line),
        source=source,
        environment=env,
        service=service,
        **kw,  # type: ignore[arg-type]
    )


def service(name: str, *, env: str | None = None, path: str = "compose.yml", line: int = 2,
            **kw: object) -> Service:
    return Service(name=name, platform="compose", environment=env,
                   location=Location(path, line), **kw)  # type: ignore[arg-type]


def effective(
    svc: Service,
    a: Assignment | None,
    *,
    spec: SecretSpec = DEFAULT_JWT_SPEC,
    env: str | None = None,
    shadowed: tuple[Assignment, ...] = (),
) -> Effective:
    if a is not None:
        svc.env[a.variable] = a
    return Effective(
        service=svc,
        environment=env if env is not None else svc.environment,
        spec=spec,
        variable=a.variable if a is not None else None,
        assignment=a,
        shadowed=shadowed,
    )


def preset_spec(preset_id: str) -> SecretSpec:
    preset = preset_by_id(preset_id)
    assert preset is not None
    return preset.spec


def model(
    *,
    assignments: list[Assignment] | None = None,
    effective: list[Effective] | None = None,
    config: Config | None = None,
) -> Model:
    effs = effective or []
    services = list({id(e.service): e.service for e in effs}.values())
    assigns = list(assignments or [])
    for e in effs:
        if e.assignment is not None and e.assignment not in assigns:
            assigns.append(e.assignment)
    envs = sorted({a.environment for a in assigns if a.environment}
                  | {e.environment for e in effs if e.environment})
    specs = [DEFAULT_JWT_SPEC, *{e.spec for e in effs if e.spec != DEFAULT_JWT_SPEC}]
    return Model(
        root=".",
        environments=envs,
        production_like=DEFAULT_PRODUCTION_LIKE,
        specs=specs,
        services=services,
        assignments=assigns,
        effective=effs,
        skipped=[],
        files=sorted({a.location.path for a in assigns}),
        config=config or Config.default(),
    )
