"""Stack files for tests: the project's own, or generated deployments of any size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from components.settings import PROJECT

PROJECT_DIR = Path(__file__).resolve().parents[2]

# Regions for generated deployments, in the order stacks are added.
REGIONS = (
    "us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2", "eu-central-1",
    "ap-northeast-1", "sa-east-1", "ca-central-1", "ap-south-1", "eu-north-1",
)  # fmt: skip


def stack_names(count: int) -> list[str]:
    """Names of a generated deployment's stacks: primary, then secondary-1, secondary-2, ..."""
    return ["primary", *(f"secondary-{i}" for i in range(1, count))]


def generated_configs(count: int, **extra: Any) -> dict[str, dict[str, Any]]:
    """A full-mesh deployment of ``count`` regions: every stack peers with all before it.

    ``extra`` keys (without the project prefix) are added to every stack's config.
    """
    names = stack_names(count)
    configs: dict[str, dict[str, Any]] = {}
    for index, name in enumerate(names):
        config: dict[str, Any] = {
            "aws:region": REGIONS[index],
            f"{PROJECT}:vpcCidr": f"10.{10 * (index + 1)}.0.0/16",
            f"{PROJECT}:environment": "dev",
        }
        if index == 0:
            config[f"{PROJECT}:role"] = "home"
            if count > 1:
                config[f"{PROJECT}:replicaStacks"] = [
                    f"organization/{PROJECT}/{n}" for n in names[1:]
                ]
        else:
            config[f"{PROJECT}:role"] = "member"
            config[f"{PROJECT}:homeStack"] = f"organization/{PROJECT}/primary"
            config[f"{PROJECT}:peerStacks"] = [f"organization/{PROJECT}/{n}" for n in names[:index]]
        config.update({f"{PROJECT}:{k}": v for k, v in extra.items()})
        configs[name] = config
    return configs


def write_stack_files(directory: Path, configs: dict[str, dict[str, Any]]) -> Path:
    """Write one ``Pulumi.<stack>.yaml`` per config (and the project file) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Pulumi.yaml").write_text((PROJECT_DIR / "Pulumi.yaml").read_text())
    for name, config in configs.items():
        (directory / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))
    return directory


def project_configs() -> dict[str, dict[str, Any]]:
    """The config of every stack file the project ships."""
    return {
        path.name[len("Pulumi.") : -len(".yaml")]: yaml.safe_load(path.read_text())["config"]
        for path in sorted(PROJECT_DIR.glob("Pulumi.*.yaml"))
    }
