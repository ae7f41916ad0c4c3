from corpusforge.flows.cli.main import run

run()
