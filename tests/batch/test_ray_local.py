"""The Ray backend end to end on a local Ray (2 CPUs, 2 workers) and a tiny model: the same
record and files as the in-process backend for the same seed, since only the driver writes."""

from __future__ import annotations

import pytest

from tests.batch.conftest import FAST_CRITICS, cli, out_files, snapshot, write_prompts

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install 'scriptorium[ray]'")


@pytest.fixture
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_backend_matches_the_local_backend(tmp_path, batch_model, local_ray):
    from batch.ray_backend import probe

    probe(ray.get_runtime_context().gcs_address, timeout=5)  # a real Ray head passes the address check

    prompts = write_prompts(tmp_path / "p.jsonl", ["A cat finds a map.", "The ship sailed north.", "",
                                                  "A dragon learns to knit.", "A letter arrives late."])
    flags = ["--prompts", prompts, "-k", "2", "--max-new-tokens", "12", "--seed", "4", "--model", batch_model,
             "--critics", FAST_CRITICS, "--quiet"]
    assert cli(tmp_path / "ws-local", "--out", tmp_path / "out-local", *flags) == 1  # the empty prompt fails
    assert cli(tmp_path / "ws-ray", "--out", tmp_path / "out-ray", *flags, "--ray", "--workers", "2") == 1
    assert snapshot(tmp_path / "ws-ray") == snapshot(tmp_path / "ws-local")
    assert out_files(tmp_path / "out-ray") == out_files(tmp_path / "out-local")
    assert len(snapshot(tmp_path / "ws-ray")["items"]) == 4

    # resume rules hold on Ray too: the same command drafts nothing again
    before = snapshot(tmp_path / "ws-ray")
    assert cli(tmp_path / "ws-ray", "--out", tmp_path / "out-ray", *flags, "--ray", "--workers", "2") == 1
    assert snapshot(tmp_path / "ws-ray") == before


def test_unanswering_cluster_address_fails_fast(tmp_path, batch_model, capsys):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before use: nobody answers there
    prompts = write_prompts(tmp_path / "p.jsonl", ["A cat finds a map."])
    rc = cli(tmp_path / "ws", "--prompts", prompts, "--out", tmp_path / "out", "--model", batch_model,
             "--ray-address", f"127.0.0.1:{port}", "--ray-timeout", "3", "--quiet")
    assert rc == 2
    err = capsys.readouterr().err
    assert f"cannot reach a Ray cluster at 127.0.0.1:{port}" in err and "ray start --head" in err
    assert not ray.is_initialized()
