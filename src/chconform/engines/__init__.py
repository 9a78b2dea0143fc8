"""Engines: throwaway ClickHouse instances (embedded chDB, docker) and existing servers, behind one protocol."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chconform.engines.base import Backend

__all__ = ["get_backend"]


def get_backend(name: str, **options: Any) -> Backend:
    """Backends are imported lazily so a missing optional engine costs nothing."""
    if name == "embedded":
        from chconform.engines.embedded import EmbeddedBackend

        return EmbeddedBackend(**options)
    options.pop("server", None)  # clusters, macros and [settings] are the embedded engine's generated config
    options.pop("engine", None)  # a release of the embedded engine; a container runs its image
    if name == "docker":
        from chconform.engines.docker import DockerBackend  # type: ignore[import-not-found,unused-ignore]

        return DockerBackend(**options)  # type: ignore[no-any-return,unused-ignore]
    from chconform.errors import ConfigError

    raise ConfigError(f"unknown backend {name!r} (use embedded or docker)")
