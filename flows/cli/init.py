"""`corpusforge init [DIR]`: start a project with a commented corpusforge.yaml, a .env.example for
the secrets and a .gitignore for the warehouse and exports.

The config is rendered from the settings models themselves (every section, every setting with
its default and its description as a comment), so it cannot drift from what the loader accepts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
import yaml
from pydantic import BaseModel

HEADER = """\
# corpusforge.yaml: what to crawl, how to clean, dedup, annotate and export it.
# Every setting below shows its default; delete what you do not change.
# Relative paths are relative to this file. Secrets (Label Studio) go in the environment: see .env.example.
"""

EXAMPLE_SOURCES = """\
sources:
  # One example per kind; uncomment and adapt. `corpusforge crawl` fetches them into the pages table.
  - name: python-docs          # unique name; documents keep it in their `source` column
    kind: site                 # follow links from url, within its host
    url: https://docs.python.org/3/tutorial/
    max_pages: 50              # stop after this many pages
    max_depth: 10              # links followed from the start page
    include: []                # regexes a URL must match (any); empty: every URL of the host
    exclude: []                # regexes that keep a URL out
  # - name: blog-feed
  #   kind: feed               # an RSS / Atom feed: its entries' pages
  #   url: https://example.org/feed.xml
  # - name: docs-sitemap
  #   kind: sitemap            # every page listed in a sitemap.xml
  #   url: https://example.org/sitemap.xml
  # - name: notes
  #   kind: files              # HTML / text files in a folder (links leaving it are skipped)
  #   path: ./notes
  # - name: archive
  #   kind: warc               # responses already fetched, in a WARC file (path or url)
  #   path: ./crawl.warc.gz
"""

ENV_EXAMPLE = """\
# Copy to .env (or export these) to enable the annotate stage; without them it is skipped.
LABEL_STUDIO_URL=http://127.0.0.1:8080
LABEL_STUDIO_API_KEY=
# PREFECT_API_URL=http://127.0.0.1:4200/api   # for `corpusforge serve` (scheduled runs)
"""

GITIGNORE = """\
# corpusforge: the warehouse and the exports are rebuilt from the sources
data/
exports/
.env
"""

NEXT_STEPS = """\
next:
  {cd}edit corpusforge.yaml (sources: what to crawl)
  corpusforge run          # crawl, clean, dedup, annotate, export; prints a summary
  corpusforge query "select source, count(*) from documents group by 1"
(or first see the whole loop on a bundled sample site: corpusforge demo)"""


def _scalar(value) -> str:
    if isinstance(value, str) and "\n" in value:
        return json.dumps(value)  # a JSON string is YAML too, and stays on one line
    return yaml.safe_dump(value, default_flow_style=True, width=1000).strip().removesuffix("...").strip()


def _field_lines(model: BaseModel, indent: str) -> list[str]:
    """`key: default  # description` per field; nested values as flow-style YAML."""
    lines = []
    values = model.model_dump(mode="json")
    for name, info in type(model).model_fields.items():
        value = values[name]
        line = f"{indent}{name}: {_scalar(value)}"
        if info.description:
            line = f"{line}  # {info.description}"
        lines.append(line)
    return lines


def render_config() -> str:
    """The commented corpusforge.yaml `init` writes: one example source, every section's defaults."""
    from corpusforge.schemas.config import RagExport, Settings, TrainingExport

    defaults = Settings()
    out = [HEADER, "warehouse: ./data  # where the Parquet tables and corpus.duckdb live (a folder or s3://...)", ""]
    out.append(EXAMPLE_SOURCES)
    sections = {
        "crawl": "fetching: politeness, retries, timeouts",
        "clean": "main-text extraction, quality signals and filters, PII redaction",
        "dedup": "exact and near-duplicate detection (MinHash LSH)",
        "annotate": "human review in Label Studio (enabled by LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY)",
    }
    for section, what in sections.items():
        out += [f"{section}:  # {what}", *_field_lines(getattr(defaults, section), "  "), ""]
    out += ["exports:", "  training:  # fine-tuning datasets (Parquet splits), one entry per dataset"]
    out += _list_item(TrainingExport())
    out += ["  rag:  # chunked, embedded exports for retrieval, one entry per index"]
    out += _list_item(RagExport())
    out += ["", "schedules:  # cron schedules `corpusforge serve` runs (empty string: not scheduled)"]
    out += _field_lines(defaults.schedules, "  ")
    out += ["", "task_runner: default  # default | dask (clean, dedup and RAG embedding work on a Dask cluster)"]
    out += ["dask_address: null  # a Dask scheduler, e.g. tcp://10.0.0.5:8786 (null: a local cluster)", ""]
    return "\n".join(out)


def _list_item(model: BaseModel) -> list[str]:
    lines = _field_lines(model, "      ")
    return ["    - " + lines[0].lstrip(), *lines[1:]]


def write_project(directory: Path, force: bool = False) -> list[Path]:
    """Write the config, .env.example and .gitignore into `directory`; an existing config is kept
    (an error) unless `force`; the other two are written only when missing."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "corpusforge.yaml"
    if config.exists() and not force:
        raise FileExistsError(f"{config} exists already (pass --force to overwrite it)")
    config.write_text(render_config())
    written = [config]
    for name, text in ((".env.example", ENV_EXAMPLE), (".gitignore", GITIGNORE)):
        path = directory / name
        if not path.exists():
            path.write_text(text)
            written.append(path)
    return written


def init(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Project folder (created if missing).")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing corpusforge.yaml.")] = False,
) -> None:
    """Start a project: a commented corpusforge.yaml (an example source, every setting with its
    default), a .env.example for the Label Studio secrets and a .gitignore."""
    from corpusforge.flows.cli.context import cli_context

    cli = cli_context(ctx)
    for path in write_project(directory, force):
        cli.console.print(f"wrote {path}")
    cd = "" if directory.resolve() == Path.cwd().resolve() else f"cd {directory}\n  "
    cli.console.print(NEXT_STEPS.format(cd=cd), highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
