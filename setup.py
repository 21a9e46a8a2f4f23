"""Package discovery for setuptools; everything else is in pyproject.toml.

`platform/` is mapped to the import name `saas_platform` (it must not shadow the standard
library's `platform`), which `[tool.setuptools.packages.find]` cannot express, so the packages
are found here: the apps by autodiscovery, the configuration by walking `platform/`.
"""

from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).resolve().parent
configuration = ["saas_platform"] + [
    "saas_platform." + ".".join(init.parent.relative_to(ROOT / "platform").parts)
    for init in sorted((ROOT / "platform").rglob("__init__.py"))
]
apps = find_packages(include=["tenants*", "whatsapp*", "billing_stub*"])

setup(packages=configuration + apps)
