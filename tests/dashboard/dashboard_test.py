"""The dashboard in a real browser: headless Chromium (Debian's package) loads quantd's own page
against a live server that has run real jobs (PTQ, QAT, head-to-head, crossover search, and
one that failed), the test checks the rendered DOM, and every page is saved as a screenshot
under $QUANTD_ARTIFACT_DIR. The JSON API behind it is checked directly as well.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from quantd.v1 import jobs_pb2
from live_quantd import LiveQuantd
from quantd_client import QuantdClient

FIX = os.environ["QUANTD_FIXTURE_DIR"]
SHOTS = os.environ["QUANTD_ARTIFACT_DIR"]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class DashboardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = LiveQuantd(local_workers=2)
        grpc_address, cls.http = cls.server.address, cls.server.http
        q = cls.q = QuantdClient(grpc_address, timeout=10)
        fx = lambda name: os.path.join(FIX, name)
        cls.ptq = q.quantize(fx("qnetwork.pt"), fx("qnetwork_inputs.npy")).id
        qat = jobs_pb2.QatSpec(model_sha256=q.upload(fx("fashion_cnn.pt")), epochs=2,
                               train=jobs_pb2.InputData(npy_sha256=q.upload(fx("fashion_calib_images_nchw.npy"))))
        cls.qat = q.submit(jobs_pb2.JobSpec(qat=qat)).id
        h2h = jobs_pb2.HeadToHeadSpec(
            model_sha256=q.upload(fx("deep_sets.pt")),
            inputs=jobs_pb2.InputData(npy_sha256=q.upload(fx("deep_sets_inputs.npy")),
                                      labels_npy_sha256=q.upload(fx("deep_sets_labels.npy"))),
            candidates=[jobs_pb2.HeadToHeadCandidate(ptq=jobs_pb2.PtqSpec(mode=jobs_pb2.DYNAMIC)),
                        jobs_pb2.HeadToHeadCandidate(ptq=jobs_pb2.PtqSpec(mode=jobs_pb2.STATIC))],
            constraints=jobs_pb2.HeadToHeadConstraints(max_size_bytes=100000),
            latency_iterations=20)
        cls.h2h = q.submit(jobs_pb2.JobSpec(head_to_head=h2h)).id
        search = jobs_pb2.CrossoverSearchSpec(
            parent_a_sha256=q.upload(fx("parent_a.pt")), parent_b_sha256=q.upload(fx("parent_b.pt")),
            inputs=jobs_pb2.InputData(npy_sha256=q.upload(fx("parent_a_states.npy"))),
            space=jobs_pb2.CrossoverSpace(strategies=[jobs_pb2.WEIGHTED, jobs_pb2.ALIGNED_WEIGHTED],
                                          regimes=[jobs_pb2.ChildRegime(base="none")]),
            latency_iterations=20)
        cls.search = q.submit(jobs_pb2.JobSpec(crossover_search=search)).id
        cls.llm = q.quantize_llm(fx("tiny_llama"), fx("tiny_llama_calib_ids.npy"),
                                 fx("tiny_llama_eval_ids.npy"), method="rtn", calibration_rows=8,
                                 eval_rows=8, new_tokens=4, min_decode_speedup=0,  # load-dependent
                                 candidates=[{"bits": 8}, {"bits": 4}]).id
        bad = jobs_pb2.PtqSpec(model_sha256=q.upload(b"not a torchscript archive"),
                               inputs=jobs_pb2.InputData(synthetic=jobs_pb2.SyntheticInputs(shape=[8])))
        cls.failed = q.submit(jobs_pb2.JobSpec(ptq=bad)).id
        for job in (cls.ptq, cls.qat, cls.h2h, cls.search, cls.llm, cls.failed):
            q.wait(job, timeout=600)
        os.makedirs(SHOTS, exist_ok=True)

    @classmethod
    def tearDownClass(cls):
        cls.q.close()
        cls.server.stop()

    def browse(self, fragment, shot):
        """The page's DOM after its scripts ran, and a screenshot of it."""
        url = f"http://{self.http}/dashboard/#{fragment}"
        profile = tempfile.mkdtemp(prefix="chromium-")
        common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-dev-shm-usage", "--window-size=1280,1200",
                  "--virtual-time-budget=5000", f"--user-data-dir={profile}"]
        try:
            dom = subprocess.run(common + ["--dump-dom", url], capture_output=True, text=True,
                                 timeout=120).stdout
            subprocess.run(common + [f"--screenshot={os.path.join(SHOTS, shot)}", url],
                           capture_output=True, timeout=120)
        finally:
            shutil.rmtree(profile, ignore_errors=True)
        self.assertIn('data-ready="true"', dom, "the page never finished loading")
        self.assertGreater(os.path.getsize(os.path.join(SHOTS, shot)), 10000)
        return dom

    def api(self, path):
        try:
            with urllib.request.urlopen(f"http://{self.http}{path}", timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def test_job_list_shows_every_job_and_filters(self):
        dom = self.browse("/", "jobs.png")
        for job in (self.ptq, self.qat, self.h2h, self.search, self.failed):
            self.assertIn(job, dom)
        self.assertIn('class="state failed"', dom)
        self.assertGreaterEqual(dom.count('class="state succeeded"'), 4)
        # The kind filter offers the server's kind table, whatever it holds.
        status, body = self.api("/api/kinds")
        self.assertEqual(status, 200)
        names = [k["name"] for k in body["kinds"]]
        self.assertEqual(names[:2], ["ptq", "qat"])
        self.assertEqual({k["name"] for k in body["kinds"] if k["leaderboard"]},
                         {"head_to_head", "crossover_search", "weight_only_llm"})
        for name in names:
            self.assertIn(f'<option value="{name}">', dom)
        qat_only = self.browse("/?kind=qat", "jobs-qat.png")
        self.assertIn(self.qat, qat_only)
        self.assertNotIn(self.ptq, qat_only)

    def test_qat_job_shows_report_curve_events_and_downloads(self):
        dom = self.browse(f"/job/{self.qat}", "job-qat.png")
        self.assertIn('id="training-curve"', dom)
        self.assertRegex(dom, r'<td[^>]*>top1_agreement</td>')
        for name in ("model", "report", "manifest"):
            self.assertRegex(dom, rf'href="/api/artifacts/[0-9a-f]{{64}}\?name={name}"')
        self.assertIn("succeeded succeeded", dom)
        self.assertIn('"epochs": 2', dom)

    def test_head_to_head_and_crossover_tables_and_scatter(self):
        dom = self.browse(f"/job/{self.h2h}", "job-head-to-head.png")
        self.assertIn('id="leaderboard"', dom)
        self.assertIn('id="scatter"', dom)
        self.assertIn("ptq_static_minmax", dom)
        self.assertRegex(dom, r'id="decision">[^<]* wins')
        # Language-model candidates: perplexity, its rise and decode speed are the columns.
        dom = self.browse(f"/job/{self.llm}", "job-weight-only-llm.png")
        self.assertIn('id="leaderboard"', dom)
        for column in ("ppl_quantized", "ppl_rise", "decode_tokens_per_s"):
            self.assertRegex(dom, rf"<th[^>]*>{column}")
        self.assertIn("rtn_w4g128", dom)
        self.assertRegex(dom, r'id="decision">rtn_w4g128 wins: smallest passing')
        dom = self.browse(f"/job/{self.search}", "job-crossover.png")
        self.assertIn("aligned_0.5-none", dom)
        self.assertIn("parent_b", dom)
        self.assertIn("baseline", dom)

    def test_failed_job_shows_its_error(self):
        dom = self.browse(f"/job/{self.failed}", "job-failed.png")
        self.assertRegex(dom, r'id="job-error">[^<]*ptq\.model_sha256')

    def test_json_api(self):
        # Names are lower case on the way out and any case on the way in; numbers are numbers.
        for kind in ("head_to_head", "HEAD_TO_HEAD"):
            status, body = self.api(f"/api/jobs?kind={kind}")
            self.assertEqual(status, 200)
            self.assertEqual([j["id"] for j in body["jobs"]], [self.h2h])
        job = body["jobs"][0]
        self.assertEqual((job["kind"], job["state"]), ("head_to_head", "succeeded"))
        self.assertIsInstance(job["created_ms"], int)
        self.assertIsInstance(job["outputs"][0]["size"], int)
        status, body = self.api(f"/api/jobs/{self.h2h}/leaderboard")
        self.assertEqual(status, 200)
        self.assertEqual(len(body["leaderboard"]["rows"]), 2)
        status, body = self.api("/api/jobs?state=BOGUS")
        self.assertEqual((status, body["error"]["code"]), (400, "INVALID_ARGUMENT"))
        status, body = self.api(f"/api/jobs/{self.ptq}/leaderboard")
        self.assertEqual(status, 409)
        # Artifacts only by content address: a path never reaches the disk.
        status, body = self.api("/api/artifacts/..%2F..%2Fetc%2Fpasswd")
        self.assertEqual((status, body["error"]["code"]), (404, "NOT_FOUND"))
        status, body = self.api("/api/artifacts/not-a-sha256")
        self.assertEqual((status, body["error"]["code"]), (400, "INVALID_ARGUMENT"))
        status, body = self.api(f"/api/jobs/{self.qat}/events?after=0")
        self.assertEqual(body["events"][0]["type"], "submitted")
        status, body = self.api("/api/health")
        self.assertEqual(body["workers_connected"], 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
