"""Indexing: article files -> chunks (unsafe text left out) -> vectors -> the saved FAISS index."""
