"""deploy/ checked against the real tools and the real server: Prometheus config and alert rules
pass `promtool check` and their unit tests, every YAML file parses, the Kubernetes manifests have
what the design promises, and every quantd_* metric that an alert or the Grafana dashboard uses
is one a live quantd exports. Run by ctest (QUANTD_BIN_DIR, QUANTD_SOURCE_DIR set).
"""
import glob
import json
import os
import re
import subprocess
import unittest
import urllib.request

import yaml

import grpc

from quantd.v1 import jobs_pb2, worker_service_pb2 as wapi, worker_service_pb2_grpc
from live_quantd import LiveQuantd
from quantd_client import QuantdClient, QuantdError

SRC = os.environ["QUANTD_SOURCE_DIR"]
DEPLOY = os.path.join(SRC, "deploy")


def promtool(*args):
    run = subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120)
    return run.returncode, run.stdout + run.stderr


def exercise(address):
    """Gives every metric family a series: a failed RPC, a submitted job, and a task leased and
    failed through the worker API (task duration, finished job)."""
    with QuantdClient(address, timeout=5) as q:
        try:
            q.get("job-none")  # a failed RPC: NOT_FOUND
        except QuantdError:
            pass
        spec = jobs_pb2.JobSpec(ptq=jobs_pb2.PtqSpec(
            model_sha256=q.upload(b"not a model", "application/x-torchscript"),
            inputs=jobs_pb2.InputData(synthetic=jobs_pb2.SyntheticInputs(shape=[8]))))
        q.submit(spec)
    with grpc.insecure_channel(address) as channel:
        workers = worker_service_pb2_grpc.WorkerServiceStub(channel)
        lease = workers.LeaseTask(wapi.LeaseTaskRequest(worker_id="deploy-test", wait_ms=5000),
                                  timeout=10)
        assert lease.granted, "the submitted task was not leased"
        workers.FailTask(wapi.FailTaskRequest(lease_id=lease.lease_id, kind=jobs_pb2.INVALID_INPUT,
                                              message="deploy test"), timeout=10)


def live_metric_names():
    server = LiveQuantd(local_workers=0)
    try:
        exercise(server.address)
        text = urllib.request.urlopen(f"http://{server.http}/metrics", timeout=10).read().decode()
        return set(re.findall(r"^# TYPE (\w+)", text, re.M))
    finally:
        server.stop()


def used_metrics(text):
    # Histogram series (_bucket, _sum, _count) belong to the family that is exported.
    return {re.sub(r"_(bucket|sum|count)$", "", m) for m in re.findall(r"quantd_[a-z_]+", text)}


class DeployConfigTest(unittest.TestCase):
    def test_prometheus_config_rules_and_rule_tests(self):
        for args in (["check", "config", "prometheus/prometheus.yml"],
                     ["check", "rules", "prometheus/alerts.yml"],
                     ["test", "rules", "prometheus/alerts_test.yml"]):
            code, out = promtool(*[a if not a.startswith("prometheus/") else
                                   os.path.join(DEPLOY, a) for a in args])
            self.assertEqual(code, 0, out)
            self.assertIn("SUCCESS", out)

    def test_every_yaml_parses_and_kubernetes_has_what_the_design_needs(self):
        docs = {}
        for path in glob.glob(os.path.join(DEPLOY, "**", "*.y*ml"), recursive=True):
            with open(path) as f:
                docs[os.path.relpath(path, DEPLOY)] = [d for d in yaml.safe_load_all(f) if d]
        self.assertGreaterEqual(len(docs), 7)
        kube = docs["kubernetes/quantd.yaml"] + docs["kubernetes/keda-scaledobject.yaml"]
        kinds = {d["kind"]: d for d in kube}
        self.assertEqual(set(kinds), {"Service", "StatefulSet", "Deployment", "ScaledObject"})
        self.assertEqual(kinds["StatefulSet"]["spec"]["replicas"], 1)
        self.assertTrue(kinds["StatefulSet"]["spec"]["volumeClaimTemplates"])
        trigger = kinds["ScaledObject"]["spec"]["triggers"][0]
        self.assertIn("quantd_queue_depth", trigger["metadata"]["query"])
        self.assertEqual(kinds["ScaledObject"]["spec"]["scaleTargetRef"]["name"],
                         kinds["Deployment"]["metadata"]["name"])
        compose = docs["compose/docker-compose.yml"][0]["services"]
        self.assertEqual(set(compose), {"quantd", "worker", "prometheus", "grafana"})
        # Workers run other people's models: their own non-root user, no token, no writable
        # root, no capabilities, and none of the scheduler's volumes.
        worker, scheduler = kinds["Deployment"]["spec"]["template"]["spec"], \
            kinds["StatefulSet"]["spec"]["template"]["spec"]
        for pod in (worker, scheduler):
            self.assertIs(pod["automountServiceAccountToken"], False)
            self.assertIs(pod["securityContext"]["runAsNonRoot"], True)
            c = pod["containers"][0]["securityContext"]
            self.assertIs(c["readOnlyRootFilesystem"], True)
            self.assertIs(c["allowPrivilegeEscalation"], False)
            self.assertEqual(c["capabilities"]["drop"], ["ALL"])
        self.assertNotEqual(worker["securityContext"]["runAsUser"],
                            scheduler["securityContext"]["runAsUser"])
        self.assertNotIn("data", {m["name"] for m in worker["containers"][0]["volumeMounts"]})

    def test_systemd_workers_are_another_user_with_no_path_to_the_data_dir(self):
        units = {}
        for name in ("quantd.service", "quantd-worker@.service"):
            with open(os.path.join(DEPLOY, "systemd", name)) as f:
                text = f.read().replace("\\\n", " ")  # join continued lines
                units[name] = dict(line.split("=", 1) for line in text.splitlines()
                                   if "=" in line and not line.startswith("#"))
        worker, scheduler = units["quantd-worker@.service"], units["quantd.service"]
        self.assertEqual(worker.get("DynamicUser"), "yes")
        self.assertNotIn("User", worker)
        self.assertIn("/var/lib/quantd", worker["InaccessiblePaths"])
        self.assertEqual(worker["ProtectSystem"], "strict")
        # The scheduler does not spawn workers as its own user.
        self.assertIn("--local-workers 0", scheduler["ExecStart"])

    def test_alerts_and_dashboard_use_only_metrics_quantd_exports(self):
        exported = live_metric_names()
        self.assertIn("quantd_queue_depth", exported)
        with open(os.path.join(DEPLOY, "prometheus", "alerts.yml")) as f:
            alerts = f.read()
        with open(os.path.join(DEPLOY, "grafana", "quantd-dashboard.json")) as f:
            dashboard = f.read()
        json.loads(dashboard)
        for name, text in (("alerts.yml", alerts), ("quantd-dashboard.json", dashboard)):
            unknown = used_metrics(text) - exported
            self.assertFalse(unknown, f"{name} uses metrics quantd does not export: {unknown}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
