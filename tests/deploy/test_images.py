"""The Dockerfile and what runs in its images, checked without building them: pinned bases, non-root
runtimes, a build context that holds what is copied, and every service command present in its image."""

import ast
import importlib.metadata as md
import importlib.util
import json
import re
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from services.cli import COMMANDS
from tests.deploy.stack import (
    COMPOSE,
    REPO,
    built_services,
    dockerfile_args,
    dockerfile_stages,
    image_distributions,
    pyproject_dependencies,
    requirement_lines,
    services,
    stage_chain,
)

TARGETS = ("api", "ml")
# Run in a subprocess: import the modules (argv[2:]) as in an image holding only the distributions in
# argv[1]; any other distribution's modules are made unimportable, so optional imports take their fallback.
IMPORT_IN_IMAGE = """
import importlib, importlib.abc, importlib.metadata as md, json, re, sys
installed = set(json.loads(sys.argv[1]))
owners = md.packages_distributions()
absent = {
    top for top, dists in owners.items()
    if not {re.sub(r"[-_.]+", "-", d).lower() for d in dists} & installed
}
class NotInImage(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in absent:
            raise ModuleNotFoundError(f"No module named {name!r} in the image", name=name)
        return None
sys.meta_path.insert(0, NotInImage())
for module in sys.argv[2:]:
    importlib.import_module(module)
"""


def test_base_images_are_pinned_by_version() -> None:
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", dockerfile_args()["PYTHON_IMAGE"])
    assert {stage.base for stage in dockerfile_stages().values()} <= {"${PYTHON_IMAGE}", *dockerfile_stages()}
    for name, spec in services().items():
        if "build" not in spec:
            assert re.fullmatch(r"[\w./-]+:v?\d+\.\d+(\.\d+)?(-\w+)?", spec["image"]), (
                f"{name}: {spec['image']}"
            )


def test_runtime_images_run_as_an_unprivileged_user() -> None:
    for target in TARGETS:
        users = [args for stage in stage_chain(target) for op, args in stage.instructions if op == "USER"]
        assert users and users[-1] not in {"root", "0"}, f"{target} runs as {users[-1:] or 'root'}"


def test_runtime_images_copy_the_venv_from_their_builder() -> None:
    """Multi-stage: the runtime gets the built venv, never pip or the build's caches."""
    for target, requirements in (("api", "requirements-api.txt"), ("ml", "pyproject.toml")):
        copies = [args for op, args in dockerfile_stages()[target].instructions if op == "COPY"]
        assert copies == [f"--from=build-{target} /opt/venv /opt/venv"], target
        runs = " ".join(
            args for op, args in dockerfile_stages()[f"build-{target}"].instructions if op == "RUN"
        )
        assert requirements in runs and "-c constraints.txt" in runs, target
    assert not any(op == "RUN" and "pip" in args for op, args in dockerfile_stages()["runtime"].instructions)


def test_the_services_run_the_images_built_here() -> None:
    for name, spec in built_services().items():
        assert spec["build"]["target"] in TARGETS, name
        assert spec["image"] == f"credit-platform-{spec['build']['target']}:local", name


def test_api_requirements_are_project_dependencies() -> None:
    """The slim image's list names only what pyproject.toml pins (and constraints.txt with it), with the
    same extras."""
    pinned = {canonicalize_name(r.name): r.extras for r in map(Requirement, pyproject_dependencies())}
    for requirement in map(Requirement, requirement_lines(COMPOSE / "requirements-api.txt")):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is not a dependency in pyproject.toml"
        assert requirement.extras == pinned[name], f"{name}: extras {requirement.extras} vs {pinned[name]}"
        assert not requirement.specifier, f"{name}: the version comes from constraints.txt"


def test_api_image_services_import_with_only_what_it_installs() -> None:
    modules = [app_module(spec["command"]) for spec in built_services().values() if target_of(spec) == "api"]
    installed = json.dumps(sorted(image_distributions("api")))
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_IN_IMAGE, installed, *modules], capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode == 0, f"{modules} on the api image:\n{result.stderr[-3000:]}"


def test_every_command_exists_in_its_image() -> None:
    for name, spec in built_services().items():
        command, target = spec["command"], target_of(spec)
        if command[0] in {"python", "bash"}:
            assert copied_into_runtime(command[1]), f"{name}: {command[1]} is not in the image"
        else:
            assert console_script_owner(command[0]) in image_distributions(target), f"{name}: {command[0]}"
            module, attribute = app_module(command), app_attribute(command)
            assert defines_at_top_level(module, attribute), f"{name}: {module} defines no {attribute}"


def test_dockerignore_admits_everything_the_dockerfile_copies() -> None:
    for stage in dockerfile_stages().values():
        for op, args in stage.instructions:
            if op == "COPY" and not args.startswith("--from"):
                for source in args.split()[:-1]:
                    assert in_build_context(source.rstrip("/")), f"{stage.name}: COPY {source} is ignored"


def target_of(spec: dict) -> str:
    return spec["build"]["target"]


def app_module(command: list[str]) -> str:
    """`uvicorn pkg.mod:app` -> pkg.mod; `celery -A pkg.mod ...` -> pkg.mod; `credit NAME`: NAME's module."""
    if command[0] == "celery":
        return command[command.index("-A") + 1]
    return _target(command).split(":")[0]


def app_attribute(command: list[str]) -> str:
    return "app" if command[0] == "celery" else _target(command).split(":")[1]


def _target(command: list[str]) -> str:
    """ "module:attribute" the command runs (`credit` sub-commands: services/cli.py's COMMANDS)."""
    return COMMANDS[command[1]] if command[0] == "credit" else command[1]


def console_script_owner(script: str) -> str:
    """The distribution whose console script SCRIPT is, in this venv (pinned like the images)."""
    for entry in md.entry_points(group="console_scripts", name=script):
        return canonicalize_name(entry.dist.name)
    raise AssertionError(f"no console script {script!r}")


def defines_at_top_level(module: str, attribute: str) -> bool:
    """MODULE exists and assigns or defines ATTRIBUTE at module level; read, not imported (some imports take
    seconds)."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, module
    tree = ast.parse(Path(spec.origin).read_text())
    targets = [t for node in tree.body if isinstance(node, ast.Assign) for t in node.targets]
    functions = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    return attribute in functions or any(isinstance(t, ast.Name) and t.id == attribute for t in targets)


def copied_into_runtime(path: str) -> bool:
    copied = [
        args.split()[0].rstrip("/")
        for op, args in dockerfile_stages()["runtime"].instructions
        if op == "COPY" and not args.startswith("--from")
    ]
    return (REPO / path).is_file() and any(path == c or path.startswith(f"{c}/") for c in copied)


def in_build_context(path: str) -> bool:
    """.dockerignore semantics for the patterns used there: the last matching line wins, `!` re-admits,
    a pattern matches the path itself or a folder above it."""
    admitted = True
    lines = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()]
    for line in (line for line in lines if line and not line.startswith("#")):
        pattern = line.removeprefix("!").removeprefix("**/")
        parts = Path(path).parts
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch(prefix, pattern) for prefix in prefixes) or fnmatch(Path(path).name, pattern):
            admitted = line.startswith("!")
    return admitted
