"""`platform/` must never shadow the standard library's `platform` module."""

from __future__ import annotations

import importlib
import sysconfig
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_platform_is_the_standard_library() -> None:
    import platform

    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    assert Path(platform.__file__).resolve().parent == stdlib
    assert callable(platform.python_version)


def test_platform_folder_is_not_a_package() -> None:
    assert (ROOT / "platform").is_dir()
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_project_configuration_imports_as_saas_platform() -> None:
    settings_module = importlib.import_module("saas_platform.settings")
    assert Path(settings_module.__file__).resolve().is_relative_to(ROOT / "platform")


def test_every_python_package_is_declared_for_installation() -> None:
    """pyproject lists packages explicitly (the saas_platform mapping rules out autodiscovery)."""
    declared = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {"saas_platform"}
    for app in ("tenants", "whatsapp", "billing_stub"):
        for init in (ROOT / app).rglob("__init__.py"):
            found.add(".".join(init.parent.relative_to(ROOT).parts))
    for init in (ROOT / "platform").rglob("__init__.py"):
        found.add(".".join(("saas_platform", *init.parent.relative_to(ROOT / "platform").parts)))
    assert found - declared == set()
