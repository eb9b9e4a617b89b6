"""What the deployment files say, read without a container engine: the Compose file as `docker-compose
config` resolves it, the Dockerfile's stages, and the Python distributions each image installs."""

import importlib.metadata as md
import re
import subprocess
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "infra" / "compose"
PROJECT = "credit-platform"


@cache
def compose_config() -> dict:
    """The file after anchors, merges and env files are resolved; docker-compose validates it against the
    compose-spec schema it ships, so a field it does not know fails here."""
    result = subprocess.run(
        [
            "docker-compose",
            "--project-directory",
            str(REPO),
            "-f",
            str(REPO / "docker-compose.yml"),
            "config",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def services() -> dict[str, dict]:
    return compose_config()["services"]


def built_services() -> dict[str, dict]:
    """The services that run this project's images (the others are third-party images)."""
    return {name: spec for name, spec in services().items() if "build" in spec}


def env_file(name: str) -> dict[str, str]:
    """KEY=VALUE lines of infra/compose/NAME, comments and blank lines skipped."""
    lines = (COMPOSE / name).read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {key: value for key, value in pairs}


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)  # (INSTRUCTION, arguments)


@cache
def dockerfile_stages() -> dict[str, Stage]:
    """Stages by name, in file order; continuation lines are joined."""
    text = re.sub(r"\\\n", " ", (REPO / "Dockerfile").read_text())
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, arguments = line.partition(" ")
        if instruction.upper() == "FROM":
            base, _, name = arguments.partition(" AS ")
            current = stages.setdefault(name.strip(), Stage(name.strip(), base.strip()))
        elif current is not None:
            current.instructions.append((instruction.upper(), arguments.strip()))
    return stages


def stage_chain(target: str) -> list[Stage]:
    """TARGET and the stages it is built FROM, oldest first."""
    stages = dockerfile_stages()
    chain = [stages[target]]
    while chain[0].base in stages:
        chain.insert(0, stages[chain[0].base])
    return chain


def dockerfile_args() -> dict[str, str]:
    """ARG defaults declared before the first FROM."""
    header = (REPO / "Dockerfile").read_text().split("\nFROM ", 1)[0]
    return dict(re.findall(r"^ARG (\w+)=(\S+)$", header, flags=re.MULTILINE))


def requirement_lines(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def pyproject_dependencies() -> list[str]:
    with (REPO / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)["project"]["dependencies"]


def installed_closure(requirements: list[str]) -> set[str]:
    """Canonical names of REQUIREMENTS and everything they pull in, as resolved in this venv (which
    constraints.txt pins like the images); markers are evaluated here, with the extras asked for."""
    wanted = [Requirement(line) for line in requirements]
    seen: set[str] = set()
    while wanted:
        requirement = wanted.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        extras = {"", *requirement.extras}
        for line in md.requires(name) or []:
            dependency = Requirement(line)
            if dependency.marker is None or any(dependency.marker.evaluate({"extra": e}) for e in extras):
                wanted.append(dependency)
    return seen


def image_distributions(target: str) -> set[str]:
    """The distributions the Dockerfile's TARGET installs: its requirement list's closure plus the project."""
    if target == "api":
        requirements = requirement_lines(COMPOSE / "requirements-api.txt")
    else:
        requirements = pyproject_dependencies()
    return installed_closure(requirements) | {PROJECT}
