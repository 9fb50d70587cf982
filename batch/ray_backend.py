"""The Ray backend: batch items spread over Ray actors, each holding the writer and panel once.

    scriptorium batch --prompts p.jsonl --out out --ray                 # a local Ray on this machine
    scriptorium batch --prompts p.jsonl --out out --ray-address HOST:6379   # an existing cluster

Each actor is an ``ItemWorker`` (``batch/worker.py``): it loads the models when it starts and
then drafts and scores one task at a time. Results stream back to the driver as they finish
(``ray.wait``); the driver alone writes the record and the files, so the record stays
consistent and the resume rules are the same as on one machine. Ray is an optional extra
(``pip install 'scriptorium[ray]'``).

Before ``ray.init`` is given a cluster address, the address is probed (TCP connect, then a
gRPC/HTTP-2 handshake) with a bounded timeout: an address that does not answer is a clear
error in seconds instead of Ray's long retry loop.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass, field

from record.errors import UserError
from record.settings import check_settings

HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
EMPTY_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
DEFAULT_GCS_PORT = 6379
DEFAULT_CLIENT_PORT = 10001


class RayBackendError(UserError):
    """Ray is missing, the cluster does not answer, or it cannot host the workers asked for."""


@dataclass
class RayOptions:
    """How to reach Ray and how many workers to start."""

    address: str | None = field(default=None, metadata={"help": "cluster address (HOST:PORT or ray://HOST:PORT); None starts a local Ray"})
    workers: int | None = field(default=None, metadata={"help": "actors to start (default: as many as the CPUs allow)"})
    cpus_per_worker: float = field(default=1.0, metadata={"help": "CPUs each actor reserves (also its torch threads)"})
    gpus_per_worker: float = field(default=0.0, metadata={"help": "GPUs each actor reserves (fractions share a GPU)"})
    local_cpus: int | None = field(default=None, metadata={"help": "CPUs a local Ray may use (default: all)"})
    connect_timeout: float = field(default=15.0, metadata={"help": "seconds to wait for a cluster address to answer"})

    def __post_init__(self):
        check_settings(self, RayBackendError)  # types and finiteness first (record/settings.py)
        if self.workers is not None and self.workers < 1:
            raise RayBackendError(f"--workers must be at least 1, got {self.workers}")
        if self.cpus_per_worker <= 0:
            raise RayBackendError(f"--cpus-per-worker must be positive, got {self.cpus_per_worker}")
        if self.gpus_per_worker < 0:
            raise RayBackendError(f"--gpus-per-worker must be >= 0, got {self.gpus_per_worker}")
        if self.connect_timeout <= 0:
            raise RayBackendError(f"--ray-timeout must be positive, got {self.connect_timeout}")


def is_ray_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("ray") is not None


def parse_address(address: str) -> tuple[str, int]:
    """(host, port) of a Ray address: 'host:port', 'host' (GCS port 6379) or 'ray://host[:10001]'."""
    addr = address.strip()
    client = addr.startswith("ray://")
    if client:
        addr = addr[len("ray://"):]
    addr = addr.rstrip("/")
    host, sep, port = addr.rpartition(":")
    if not sep:
        host, port = addr, str(DEFAULT_CLIENT_PORT if client else DEFAULT_GCS_PORT)
    if not host or not port.isdigit():
        raise RayBackendError(f"Ray address {address!r} is not HOST:PORT or ray://HOST:PORT (e.g. 10.0.0.5:6379)")
    return host.strip("[]"), int(port)


def probe(address: str, timeout: float) -> None:
    """Raise ``RayBackendError`` unless a gRPC server answers at ``address`` within ``timeout`` s.
    Ray's head (GCS) and its client server both speak gRPC, which answers an HTTP/2 preface with
    a SETTINGS frame."""
    host, port = parse_address(address)
    hint = ("start the head with `ray start --head --port=6379` and pass its address, "
            "or use --ray for a Ray on this machine")
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(HTTP2_PREFACE + EMPTY_SETTINGS)
            head = b""
            while len(head) < 9:
                chunk = s.recv(9 - len(head))
                if not chunk:
                    break
                head += chunk
    except socket.timeout:
        raise RayBackendError(f"no Ray cluster answered at {address} within {timeout:g} s; {hint}") from None
    except OSError as e:
        raise RayBackendError(f"cannot reach a Ray cluster at {address} ({e.strerror or e}); {hint}") from None
    if len(head) < 9 or head[3] != 0x04:
        raise RayBackendError(f"{address} answered, but not as a Ray cluster (no gRPC handshake); {hint}")


def connect(opts: RayOptions) -> bool:
    """Start or join Ray. Returns True when this call started it (so ``shutdown`` is ours)."""
    if not is_ray_available():
        raise RayBackendError("the Ray backend needs Ray; install it with `pip install 'scriptorium[ray]'` "
                              "(or `pip install 'ray[default]'`), or leave out --ray")
    import ray

    if ray.is_initialized():
        return False
    env = {k: v for k, v in os.environ.items()
           if k.startswith(("SCRIPTORIUM_", "HF_", "TRANSFORMERS_")) or k in ("OMP_NUM_THREADS",)}
    kwargs = dict(log_to_driver=False, include_dashboard=False, runtime_env={"env_vars": env} if env else None)
    if opts.address:
        probe(opts.address, opts.connect_timeout)
        kwargs.pop("include_dashboard")
        _init_bounded(ray, dict(kwargs, address=opts.address), opts.connect_timeout * 4, opts.address)
    else:
        _init_bounded(ray, dict(kwargs, num_cpus=opts.local_cpus), 300, "a local Ray")
    return True


def _init_bounded(ray, kwargs: dict, timeout: float, what: str) -> None:
    """``ray.init`` with a deadline: it can otherwise retry for minutes against a bad address."""
    box: dict = {}

    def target():
        try:
            ray.init(**kwargs)
        except BaseException as e:  # handed to the caller's thread
            box["error"] = e

    t = threading.Thread(target=target, daemon=True, name="ray-init")
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise RayBackendError(f"Ray did not finish connecting to {what} within {timeout:g} s; check the address "
                              "and that this machine runs the same Ray and Python versions as the cluster")
    if "error" in box:
        e = box["error"]
        raise RayBackendError(f"Ray could not start or join {what}: {str(e).splitlines()[0][:300]}") from e


def worker_count(opts: RayOptions, cluster_cpus: float, cluster_gpus: float) -> int:
    """How many actors to start: as asked, or as many as the cluster's resources hold. Pure."""
    fit = int(cluster_cpus // opts.cpus_per_worker)
    if opts.gpus_per_worker:
        fit = min(fit, int(cluster_gpus // opts.gpus_per_worker))
    if fit < 1:
        raise RayBackendError(
            f"the Ray cluster has {cluster_cpus:g} CPUs and {cluster_gpus:g} GPUs, not enough for one worker "
            f"({opts.cpus_per_worker:g} CPUs, {opts.gpus_per_worker:g} GPUs); lower --cpus-per-worker/--gpus-per-worker"
        )
    if opts.workers is None:
        return fit
    if opts.workers > fit:
        raise RayBackendError(f"{opts.workers} workers do not fit the Ray cluster ({cluster_cpus:g} CPUs, "
                              f"{cluster_gpus:g} GPUs, {opts.cpus_per_worker:g} CPUs per worker); at most {fit} do")
    return opts.workers


class RayBackend:
    """Dispatches tasks to a pool of ``ItemWorker`` actors; results come back as they finish."""

    def __init__(self, opts: RayOptions, spec, draft_config: dict, panel_config=None):
        self.opts, self.spec, self.draft_config, self.panel_config = opts, spec, draft_config, panel_config
        self.actors: list = []
        self.idle: list = []
        self.in_flight: dict = {}
        self.started_ray = False

    @property
    def capacity(self) -> int:
        return len(self.actors)

    def start(self) -> None:
        """Connect (if needed), start the actors and wait until each has loaded its models."""
        import ray

        from batch.worker import ItemWorker

        if self.actors:
            return

        if not ray.is_initialized():
            self.started_ray = connect(self.opts)
        res = ray.cluster_resources()
        n = worker_count(self.opts, res.get("CPU", 0.0), res.get("GPU", 0.0))
        remote = ray.remote(num_cpus=self.opts.cpus_per_worker, num_gpus=self.opts.gpus_per_worker)(ItemWorker)
        threads = max(1, int(self.opts.cpus_per_worker))
        self.actors = [remote.remote(self.spec, self.draft_config, self.panel_config, threads) for _ in range(n)]
        try:
            ray.get([a.ready.remote() for a in self.actors])  # surfaces a model that cannot load, once
        except ray.exceptions.RayActorError as e:
            raise RayBackendError(f"a Ray worker could not load the writer or the critics: {_cause(e)}") from e
        self.idle = list(self.actors)

    def submit(self, task) -> None:
        actor = self.idle.pop()
        self.in_flight[actor.work.remote(task)] = actor

    def next_result(self):
        import ray

        ready, _ = ray.wait(list(self.in_flight), num_returns=1)
        actor = self.in_flight.pop(ready[0])
        self.idle.append(actor)
        try:
            return ray.get(ready[0])
        except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as e:
            raise RayBackendError(f"a Ray worker died ({_cause(e)}); finished items are in the record: run the same "
                                  "command again to resume") from e

    def close(self) -> None:
        import ray

        if not ray.is_initialized():
            return
        for a in self.actors:
            ray.kill(a)
        self.actors, self.idle, self.in_flight = [], [], {}
        if self.started_ray:
            ray.shutdown()


def _cause(e: BaseException) -> str:
    text = str(e)
    for line in reversed(text.splitlines()):
        if "Error" in line and ":" in line:
            return line.strip()[:300]
    return text.splitlines()[0][:300] if text else type(e).__name__
