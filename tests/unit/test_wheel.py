"""What the wheel ships: the product packages, and no top-level ``tools`` (nor perf, parity, tests).

The package list is computed the way setuptools computes it from ``pyproject.toml``'s
``[tool.setuptools.packages.find]`` (``find_namespace_packages`` unless ``namespaces = false``),
so it is the list ``pip wheel .`` puts in the wheel, without building one.
"""

from __future__ import annotations

import tomllib

from setuptools import find_namespace_packages, find_packages

from tests.unit.repo_files import REPO_ROOT

PRODUCT = ("seal_ocr", "seal_client", "seal_triton", "seal_api", "seal_gateway")
REPOSITORY_ONLY = ("tools", "perf", "parity", "tests")


def wheel_packages() -> list[str]:
    """Every package (dotted name) the wheel would contain."""
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    find = pyproject["tool"]["setuptools"]["packages"]["find"]
    finder = find_namespace_packages if find.get("namespaces", True) else find_packages
    packages = []
    for where in find.get("where", ["."]):
        packages += finder(
            where=str(REPO_ROOT / where),
            include=find.get("include", ["*"]),
            exclude=find.get("exclude", []),
        )
    return sorted(packages)


def test_the_wheel_ships_every_product_package():
    top_level = {name.split(".")[0] for name in wheel_packages()}
    assert set(PRODUCT) <= top_level


def test_the_wheel_ships_no_repository_only_package():
    shipped = [name for name in wheel_packages() if name.split(".")[0] in REPOSITORY_ONLY]
    assert not shipped, f"repository-only packages in the wheel: {shipped}"


def test_no_product_module_imports_a_repository_only_package():
    """An installed wheel has no ``tools``: the product (the packages, the backends and the
    models' ``model.py``) must not import it, nor perf, parity or tests."""
    offenders = []
    for folder in ("python_backend", "client", "serving", "model_repository"):
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                words = line.split()
                imports = len(words) > 1 and words[0] in ("import", "from")
                if imports and words[1].split(".")[0] in REPOSITORY_ONLY:
                    offenders.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line}")
    assert not offenders, "\n".join(offenders)
