"""Run the crawl flow from a config file (the SIGKILL-resume test kills this process)."""

import sys

from corpusforge.flows.crawl import crawl
from corpusforge.schemas.config import load_settings

if __name__ == "__main__":
    crawl(load_settings(sys.argv[1]))
