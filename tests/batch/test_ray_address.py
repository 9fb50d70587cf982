"""The Ray backend's address handling: no Ray cluster at an address is a clear, bounded error."""

import socket

import pytest

from batch.ray_backend import RayBackendError, RayOptions, parse_address, probe, worker_count


@pytest.mark.parametrize("address, expected", [
    ("10.0.0.5:6379", ("10.0.0.5", 6379)),
    ("head.example", ("head.example", 6379)),
    ("ray://head.example", ("head.example", 10001)),
    ("ray://head.example:2000/", ("head.example", 2000)),
])
def test_parse_address(address, expected):
    assert parse_address(address) == expected


def test_bad_address_form():
    with pytest.raises(RayBackendError, match="not HOST:PORT"):
        parse_address("head:port")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_nobody_listening_is_a_clear_error():
    with pytest.raises(RayBackendError, match="cannot reach a Ray cluster at 127.0.0.1:.*ray start --head"):
        probe(f"127.0.0.1:{free_port()}", timeout=2)


def test_a_silent_listener_times_out_instead_of_hanging():
    # accepts the connection (kernel backlog) but never answers, like a wedged or wrong service
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        with pytest.raises(RayBackendError, match="no Ray cluster answered .* within 0.5 s"):
            probe(f"127.0.0.1:{port}", timeout=0.5)


def test_a_listener_that_is_not_ray_is_refused():
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def answer_http1():
        conn, _ = server.accept()
        conn.recv(64)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        conn.close()

    t = threading.Thread(target=answer_http1, daemon=True)
    t.start()
    try:
        with pytest.raises(RayBackendError, match="not as a Ray cluster"):
            probe(f"127.0.0.1:{server.getsockname()[1]}", timeout=5)
    finally:
        t.join(5)
        server.close()


def test_worker_count_fits_the_cluster():
    assert worker_count(RayOptions(), cluster_cpus=4, cluster_gpus=0) == 4
    assert worker_count(RayOptions(cpus_per_worker=2), 5, 0) == 2
    assert worker_count(RayOptions(gpus_per_worker=1), 16, 2) == 2
    assert worker_count(RayOptions(workers=2), 2, 0) == 2
    with pytest.raises(RayBackendError, match="do not fit"):
        worker_count(RayOptions(workers=3), 2, 0)
    with pytest.raises(RayBackendError, match="not enough for one worker"):
        worker_count(RayOptions(gpus_per_worker=1), 8, 0)
    with pytest.raises(RayBackendError, match="at least 1"):
        RayOptions(workers=0)
