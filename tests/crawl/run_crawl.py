"""Run a crawl from a config file without Prefect (the SIGKILL-resume test kills this process)."""

import sys

from corpusforge.flows.crawl import run_crawl
from corpusforge.schemas.config import load_settings

if __name__ == "__main__":
    run_crawl(load_settings(sys.argv[1]))
