"""A real quantd on loopback for the Python-driven tests (client, deploy, dashboard): free
ports, a fresh data directory, and a wait (bounded) until its gRPC port accepts connections.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(address, seconds=10):
    """Plain TCP first: gRPC 1.51's Python TLS channel that met a refused connection keeps
    failing its handshakes after the server is up (seen here), so connect once it listens."""
    host, port = address.rsplit(":", 1)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"quantd did not listen on {address} within {seconds} s")


class LiveQuantd:
    def __init__(self, *extra_args, local_workers=1, data_dir=None):
        self.dir = data_dir or tempfile.mkdtemp(prefix="quantd-py-")
        self.address = f"127.0.0.1:{free_port()}"
        self.http = f"127.0.0.1:{free_port()}"
        self.process = subprocess.Popen(
            [os.path.join(os.environ["QUANTD_BIN_DIR"], "quantd"), "--data-dir", self.dir,
             "--listen", self.address, "--http-listen", self.http,
             "--local-workers", str(local_workers), *extra_args],
            stderr=subprocess.DEVNULL)
        wait_for_port(self.address)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)
