"""Generation backends: llama.cpp in process, or an OpenAI-compatible server, and the catalogue of GGUF models."""
