"""gunicorn settings for Cloud Run (and `make run`): `gunicorn -c gunicorn.conf.py 'app:create_app()'`, which
deploy/serve.sh runs on a unix socket behind nginx (``--bind`` on its command line wins over ``bind`` here)."""

import gc
import math
import os
import threading
from pathlib import Path


def cpu_quota(root: str = "/sys/fs/cgroup", own: str = "/proc/self/cgroup") -> float | None:
    """How many CPUs' worth of time this process's cgroup allows (v2 ``cpu.max``, or v1's quota over
    its period); None when unlimited or not to be read. The cgroup is found in ``own`` (in a container
    with its own cgroup namespace that is the root)."""
    try:
        lines = Path(own).read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        if line.count(":") < 2:
            continue
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # v2: one hierarchy
            limits = [Path(root, path.lstrip("/"), "cpu.max")]
        elif "cpu" in controllers.split(","):  # v1: the cpu controller's hierarchy
            limits = [Path(root, "cpu", path.lstrip("/"), name) for name in ("cpu.cfs_quota_us", "cpu.cfs_period_us")]
        else:
            continue
        try:
            quota, period = " ".join(limit.read_text() for limit in limits).split()
            return int(quota) / int(period) if quota not in ("max", "-1") else None
        except (OSError, ValueError, ZeroDivisionError):
            continue
    return None


def usable_cpus(root: str = "/sys/fs/cgroup", own: str = "/proc/self/cgroup") -> int:
    """The cores this process may run on, capped by the container's CPU quota: in a container the
    affinity lists the host's cores (`docker run --cpus=1` on an 8-core host shows 8), and a worker
    per core would then load the app eight times over on one CPU's time before the first answer."""
    affinity = getattr(os, "sched_getaffinity", None)  # not on macOS
    cores = len(affinity(0)) if affinity else os.cpu_count() or 1
    quota = cpu_quota(root, own)
    return cores if quota is None else max(1, min(cores, math.ceil(quota)))


bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8080')}"  # noqa: S104 - a container listens on all interfaces
# One worker per CPU the container may use; threads overlap the waits on Graph, Telegram and Firestore.
workers = int(os.environ.get("WEB_CONCURRENCY") or usable_cpus())
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# gunicorn's stock threaded worker. It reads a request with a blocking call once its first bytes are
# in, so it must not face clients directly: in the image (and `make run` where nginx is installed)
# deploy/serve.sh binds it to a unix socket behind nginx, which hands it only whole requests.
worker_class = "gthread"
# Cloud Run enforces the request timeout itself; gunicorn must not kill slow sends half way.
timeout = 0
# Cloud Run sends SIGTERM and waits 10 s before SIGKILL: finish in-flight requests within that.
graceful_timeout = 8
keepalive = 5
# gunicorn's control socket (for its `gunicornc` tool) is of no use on Cloud Run, where nobody can reach
# the socket, and the image's user has no home to put it in: left on, it logs an error at every start.
control_socket_disable = True
accesslog = None  # Cloud Run writes its own request log
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()


# A worker's start-up allocates hundreds of thousands of objects while Flask, and on the first message
# the Firestore client library, are imported, and keeps most of what they define for its whole life;
# the cycle collector would stop to walk them again and again while they load (8-11 % of a cold
# start to the first reply, bench/run.py's cold start with and without this). So a worker starts with
# it off and turns it on once its first request is answered, or after STARTUP_GC_SECONDS if that
# request runs long (a broadcast), first setting aside what start-up made (gc.freeze) so that later
# full collections do not walk it either.
STARTUP_GC_SECONDS = 20.0


def resume_gc() -> None:
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def post_fork(server, worker) -> None:
    gc.disable()
    timer = threading.Timer(STARTUP_GC_SECONDS, resume_gc)
    timer.daemon = True
    timer.start()


def post_request(worker, req, environ, resp) -> None:
    resume_gc()
