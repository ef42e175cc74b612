"""Which folder a node reads adapters from, as a vLLM or SGLang server beside it must see it."""

from pathlib import Path

from gateway.settings import Settings
from gateway.storage.choice import adapters_dir


def test_adapters_are_read_from_the_artifacts_folder_or_from_the_bucket_s_local_cache(tmp_path: Path):
    assert adapters_dir(Settings(data_dir=tmp_path)) == tmp_path / "artifacts"
    on_s3 = Settings(data_dir=tmp_path, storage="s3", s3_bucket="b", artifact_cache_dir=tmp_path / "c")
    assert adapters_dir(on_s3) == tmp_path / "c"
