"""The human-readable form of the offline plan: the order, then a resource tree per stack."""

from __future__ import annotations

from ops.simulate import DeploymentResult, Resource, StackResult


def _tree_lines(result: StackResult) -> list[str]:
    children: dict[str | None, list[Resource]] = {}
    urns = {r.urn for r in result.resources}
    for resource in result.resources:
        parent = resource.parent if resource.parent in urns else None
        children.setdefault(parent, []).append(resource)

    lines: list[str] = []

    def walk(parent: str | None, indent: str) -> None:
        items = children.get(parent, [])
        for i, resource in enumerate(items):
            last = i == len(items) - 1
            where = (
                f"  [{resource.region}]"
                if resource.region and resource.region != result.region
                else ""
            )
            lines.append(
                f"{indent}{'└─ ' if last else '├─ '}{resource.type}  {resource.name}{where}"
            )
            walk(resource.urn, indent + ("   " if last else "│  "))

    walk(None, "  ")
    return lines


def render_tree(result: DeploymentResult) -> str:
    """The deploy order and, for each stack, its resources under their parents."""
    lines = ["Deploy order:"]
    lines += [f"  {i}. {step.label}" for i, step in enumerate(result.order, 1)]
    for name, stack in result.stacks.items():
        converge = any(step.converge and step.stack == name for step in result.order)
        lines += [
            "",
            f"Stack {name} ({stack.role}, {stack.region}): {len(stack.resources)} resources"
            + (" — as of its converge pass" if converge else ""),
        ]
        lines += _tree_lines(stack)
        lines.append("  Outputs:")
        lines += [f"    {key}: {value}" for key, value in sorted(stack.outputs.items())]
    return "\n".join(lines)
