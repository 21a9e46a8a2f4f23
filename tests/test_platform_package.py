"""`platform/` must never shadow the standard library's `platform` module."""

from __future__ import annotations

import importlib
import sysconfig
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


def test_installed_packages_include_the_configuration_and_every_app(tmp_path: Path) -> None:
    """setup.py finds the packages (the saas_platform mapping rules out autodiscovery alone)."""
    import subprocess
    import sys

    listed = subprocess.run(
        [sys.executable, "setup.py", "--quiet", "egg_info", "--egg-base", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert listed.returncode == 0
    sources = {
        line.removeprefix("./")
        for line in (tmp_path / "whatsapp_saas_platform.egg-info" / "SOURCES.txt")
        .read_text()
        .split()
    }
    for module in ("platform/settings/base.py", "tenants/models.py", "whatsapp/models/messages.py"):
        assert module in sources
