"""The tags every resource carries, from one place."""

from __future__ import annotations

from components.settings import PROJECT, Settings


def tags(settings: Settings, name: str) -> dict[str, str]:
    """Tags for one resource: the service, the stack, the region and a readable Name."""
    return {"service": PROJECT, "stack": settings.stack, "region": settings.region, "Name": name}
