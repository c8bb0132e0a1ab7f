"""The shells over the Python API: the typer CLI, the Gradio page and the evaluation harness."""
