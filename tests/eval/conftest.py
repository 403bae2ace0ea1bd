from tests.models.conftest import tiny_llama, tiny_qwen2  # noqa: F401  (shared fixtures)
