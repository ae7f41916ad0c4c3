"""What every command gets from the top-level options: the config path, the settings (loaded on
first use, so a bad file fails in the command that needs it) and the consoles."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    from corpusforge.schemas.config import Settings
    from corpusforge.warehouse import Warehouse


@dataclass
class CliContext:
    config_path: str | None = None
    debug: bool = False
    console: Console = field(default_factory=Console)
    err_console: Console = field(default_factory=lambda: Console(stderr=True))
    _settings: Settings | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            from corpusforge.schemas.config import load_settings

            require_config(self.config_path)
            self._settings = load_settings(self.config_path)
        return self._settings

    def use_config(self, path: str) -> None:
        """Switch to another config file (the demo writes its own)."""
        self.config_path, self._settings = path, None

    def warehouse(self) -> Warehouse:
        from corpusforge.warehouse import Warehouse

        return Warehouse(self.settings().warehouse)


class NoConfig(FileNotFoundError):
    """No config file given and none found: a command would otherwise run on defaults and create
    an empty warehouse wherever it happens to be started."""


def require_config(config_path: str | None) -> None:
    """Fail in one line when no config is given (-c, $CORPUSFORGE_CONFIG) and the current folder
    has no corpusforge.yaml. A given path that does not exist is the loader's own error."""
    import os
    from pathlib import Path

    if config_path or os.environ.get("CORPUSFORGE_CONFIG"):
        return
    here = Path.cwd() / "corpusforge.yaml"
    if not here.exists():
        raise NoConfig(f"no corpusforge.yaml in {here.parent}: run `corpusforge init` to make one, or pass -c FILE")


def cli_context(ctx: typer.Context) -> CliContext:
    """The CliContext the main callback stored on the root click context."""
    obj = ctx.find_root().obj
    if not isinstance(obj, CliContext):  # a command invoked without the main callback
        obj = ctx.find_root().obj = CliContext()
    return obj
