"""corpusforge: web sources to a fine-tuning dataset and a RAG index.

The project is organised by the top-level folders flows/, connectors/, processing/,
warehouse/ and schemas/; they install as ``corpusforge.flows``, ``corpusforge.connectors``, ...
"""

__version__ = "0.1.0"
