"""The installed package works from any folder: nothing may import the top-level folders by their
own names (flows, processing, ...) or read package data by them. Run outside the checkout, where
only `corpusforge.*` exists."""

from __future__ import annotations

import subprocess
import sys


def test_package_data_and_every_module_import_outside_the_checkout(tmp_path):
    code = (
        "import pkgutil, importlib, corpusforge\n"
        "from corpusforge.connectors.label_studio import label_config_template\n"
        "assert '<View' in label_config_template()\n"
        "for pkg in ('flows', 'flows.cli', 'connectors', 'connectors.sinks', 'connectors.sample_site',\n"
        "            'processing', 'warehouse', 'schemas'):\n"
        "    mod = importlib.import_module('corpusforge.' + pkg)\n"
        "    for info in pkgutil.iter_modules(mod.__path__):\n"
        "        if info.name not in ('__main__',):\n"
        "            importlib.import_module(f'corpusforge.{pkg}.{info.name}')\n"
        "import sys\n"
        "bare = sorted(m for m in sys.modules if m.split('.')[0] in\n"
        "              ('flows', 'connectors', 'processing', 'warehouse', 'schemas'))\n"
        "print(bare)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
