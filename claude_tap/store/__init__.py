"""Trace files: where sessions live (paths), the writer thread, the reader, the legacy importer.

Nothing here knows about sockets or how records are rendered.
"""
