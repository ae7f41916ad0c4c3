"""Sinks: a RAG export folder loaded into a vector store (LanceDB embedded, a Chroma server), and
the RAG frameworks' view of it (frameworks.py)."""

from corpusforge.connectors.sinks.chroma_sink import ChromaSink
from corpusforge.connectors.sinks.export_folder import ExportFolder, ExportFolderError
from corpusforge.connectors.sinks.lancedb_sink import ANN_INDEX_MIN_ROWS, LanceDBSink, SyncResult

__all__ = ["ANN_INDEX_MIN_ROWS", "ChromaSink", "ExportFolder", "ExportFolderError", "LanceDBSink", "SyncResult"]
