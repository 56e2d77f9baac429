"""Presets: discovery, image detection, format rules, and data every preset must carry."""

from __future__ import annotations

import base64
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import keydrift.presets as presets_pkg
from keydrift.presets.interface import (
    Preset,
    all_presets,
    normalize_image,
    preset_by_id,
    presets_for_image,
)
from keydrift.presets.interface import _registry as presets_registry
from keydrift.secret import SecretValue
from keydrift.strength import known_weak_match

EXPECTED = {"airflow", "dify", "langflow", "n8n", "open_webui", "superset", "supabase",
            "superset_websocket"}


def test_all_presets_are_discovered_with_complete_data() -> None:
    found = all_presets()
    assert {p.id for p in found} == EXPECTED
    shared = {spec for p in found for spec in p.extra_specs}
    for p in found:
        # A component's spec is its own, or the one it shares with its app (the websocket
        # server verifies what Superset signs).
        assert p.spec.name == p.id or p.spec in shared
        assert p.variables and p.image_patterns and p.unset_behaviour and p.title
        assert p.docs_url.startswith("https://")
        assert p.spec.previous_variables == ()


@pytest.mark.parametrize(
    ("image", "preset_id"),
    [
        ("langflowai/langflow:1.1.1", "langflow"),
        ("langflowai/langflow-backend:latest", "langflow"),
        ("docker.io/langflowai/langflow@sha256:0123abcd", "langflow"),
        ("apache/superset:4.1.1", "superset"),
        ("apachesuperset.docker.scarf.sh/apache/superset:4.0.0", "superset"),
        ("apache/airflow:2.10.3-python3.11", "airflow"),
        ("ghcr.io/open-webui/open-webui:main", "open_webui"),
        ("n8nio/n8n:1.80.0", "n8n"),
        ("docker.n8n.io/n8nio/n8n", "n8n"),
        ("langgenius/dify-api:1.0.0", "dify"),
        ("langgenius/dify-worker:1.0.0", "dify"),
        ("registry.example.com:5000/n8nio/n8n:1.2", "n8n"),
    ],
)
def test_images_select_their_preset(image: str, preset_id: str) -> None:
    assert [p.id for p in presets_for_image(image)] == [preset_id]


@pytest.mark.parametrize(
    "image",
    ["postgres:16", "langgenius/dify-web:1.0.0", "apache/airflow-exporter", "myorg/langflow-ui",
     "", "n8nio/n8n-helper"],
)
def test_other_images_select_nothing(image: str) -> None:
    assert presets_for_image(image) == ()


def test_normalize_image_strips_tag_digest_and_default_registry() -> None:
    assert normalize_image("docker.io/library/postgres:16") == ("library/postgres", "postgres")
    assert normalize_image("localhost:5000/app:1@sha256:ff") == ("localhost:5000/app", "app")


def test_langflow_format_rule() -> None:
    langflow = preset_by_id("langflow")
    assert langflow is not None
    fernet = base64.urlsafe_b64encode(bytes(range(32))).decode()
    assert langflow.format_rule(SecretValue(fernet)) is None
    assert langflow.format_rule(SecretValue(fernet.rstrip("="))) is None  # padding re-added
    assert langflow.format_rule(SecretValue("short-key")) is None  # stretched by Langflow
    message = langflow.format_rule(SecretValue("a" * 64))
    assert message is not None and "Fernet" in message and "a" * 8 not in message


def test_public_defaults_are_on_the_known_weak_list() -> None:
    for p in all_presets():
        for value in p.public_defaults:
            assert p.is_public_default(SecretValue(value))
            assert known_weak_match(value), (p.id, "default missing from extra-weak.txt")


def test_adding_a_preset_module_needs_no_other_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "zz_demoapp.py").write_text(textwrap.dedent('''
        from keydrift.presets.interface import Preset
        from keydrift.spec import SecretSpec

        class DemoApp(Preset):
            id = "zz_demoapp"
            title = "Demo"
            spec = SecretSpec(name="zz_demoapp", variables=("DEMO_KEY",), previous_variables=())
            image_patterns = ("demo/app",)
            unset_behaviour = "it crashes"
            docs_url = "https://example.invalid/demo"
    '''))
    monkeypatch.setattr(presets_pkg, "__path__", [*presets_pkg.__path__, str(tmp_path)])
    presets_registry.cache_clear()
    try:
        assert [p.id for p in presets_for_image("demo/app:2")] == ["zz_demoapp"]
    finally:
        monkeypatch.undo()
        presets_registry.cache_clear()
        sys.modules.pop("keydrift.presets.zz_demoapp", None)
    assert preset_by_id("zz_demoapp") is None


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    yield
    presets_registry.cache_clear()


def test_preset_repr_has_no_secret() -> None:
    assert repr(preset_by_id("n8n")) == "<Preset n8n>"
    assert isinstance(preset_by_id("n8n"), Preset)
