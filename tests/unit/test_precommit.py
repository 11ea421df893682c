"""The pre-commit hooks run the tools ``make lint`` runs, at the versions the dev extra pins."""

from __future__ import annotations

import tomllib

import yaml

from tests.unit.repo_files import REPO_ROOT


def _dev_pins() -> dict[str, str]:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pins = {}
    for requirement in pyproject["project"]["optional-dependencies"]["dev"]:
        name, _, version = requirement.partition("==")
        pins[name.lower()] = version
    return pins


def _hooks() -> list[dict]:
    config = yaml.safe_load((REPO_ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    return [hook for repo in config["repos"] for hook in repo["hooks"]]


def test_hook_tools_are_pinned_as_in_the_dev_extra():
    pins = _dev_pins()
    for hook in _hooks():
        for requirement in hook.get("additional_dependencies", []):
            name, _, version = requirement.partition("==")
            assert version, f"{hook['id']}: {requirement} is not pinned"
            assert pins.get(name.lower()) == version, (hook["id"], requirement, pins.get(name))


def test_pre_commit_itself_is_pinned():
    assert "pre-commit" in _dev_pins()


def test_hooks_run_ruff_check_ruff_format_and_codespell():
    entries = {hook["id"]: hook["entry"].split()[:2] for hook in _hooks()}
    assert entries == {
        "ruff-check": ["ruff", "check"],
        "ruff-format": ["ruff", "format"],
        "codespell": ["codespell"],
    }
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    lint = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    for command in ("ruff check", "ruff format --check", "codespell", "mypy"):
        assert f"$(VENV)/bin/{command}" in lint, command
