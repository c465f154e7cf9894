"""The Python client (client/python) against a live quantd on loopback, with Debian's
python3-grpcio: quantize -> wait -> download gives a model PyTorch loads, validate judges it,
the example agent runs end to end, and errors arrive as QuantdError with the gRPC code and the
server's message. Run by ctest with PYTHONPATH, QUANTD_BIN_DIR and QUANTD_FIXTURE_DIR set.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import grpc
import numpy as np
import torch

from quantd.v1 import jobs_pb2
from live_quantd import LiveQuantd
from quantd_client import QuantdClient, QuantdError

BIN = os.environ["QUANTD_BIN_DIR"]
FIX = os.environ["QUANTD_FIXTURE_DIR"]
HERE = os.path.dirname(os.path.abspath(__file__))
AGENT = os.path.join(HERE, "..", "..", "client", "python", "example_agent.py")


class PythonClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = LiveQuantd(local_workers=1)
        cls.dir, cls.address = cls.server.dir, cls.server.address
        cls.q = QuantdClient(cls.address, timeout=5)

    @classmethod
    def tearDownClass(cls):
        cls.q.close()
        cls.server.stop()

    def test_quantize_wait_download_loads_in_pytorch(self):
        model, inputs = os.path.join(FIX, "qnetwork.pt"), os.path.join(FIX, "qnetwork_inputs.npy")
        events = []
        job = self.q.wait(self.q.quantize(model, inputs).id, timeout=300, on_event=events.append)
        self.assertEqual(job.state, jobs_pb2.SUCCEEDED, job.error)
        self.assertIn("succeeded", [e.type for e in events])
        path = self.q.download(job.id, "model", os.path.join(self.dir, "q.pt"))
        x = torch.from_numpy(np.load(inputs))
        agree = (torch.jit.load(path)(x).argmax(1) == torch.jit.load(model)(x).argmax(1))
        self.assertGreater(agree.float().mean().item(), 0.95)
        report = json.loads(open(self.q.download(job.id, "report",
                                                 os.path.join(self.dir, "r.json"))).read())
        self.assertEqual(report["inputs"]["samples"], 2048)
        # Uploading the same file again is free and gives the same address.
        self.assertEqual(self.q.upload(model), job.spec.ptq.model_sha256)

    def test_quantize_llm_writes_a_gptq_checkpoint(self):
        # Seed 002's users: a Hugging Face folder in, AWQ at 4 bits, a GPTQ-layout folder out.
        job = self.q.wait(self.q.quantize_llm(
            os.path.join(FIX, "tiny_llama"), os.path.join(FIX, "tiny_llama_calib_ids.npy"),
            os.path.join(FIX, "tiny_llama_eval.txt"), method="awq", bits=4, group_size=64,
            calibration_rows=32, new_tokens=8, prompts=["Q: Why"],
            min_decode_speedup=0).id, timeout=600)  # speed is not this test's to judge
        self.assertEqual(job.state, jobs_pb2.SUCCEEDED, job.error)
        self.assertEqual(job.model_name, "tiny_llama")
        config = json.load(open(self.q.download(job.id, "checkpoint/config.json",
                                                os.path.join(self.dir, "config.json"))))
        self.assertEqual(config["quantization_config"]["bits"], 4)
        self.assertEqual(config["quantization_config"]["group_size"], 64)
        self.assertEqual(config["quantization_config"]["meta"]["method"], "awq")
        report = json.load(open(self.q.download(job.id, "report",
                                                os.path.join(self.dir, "llm.json"))))
        self.assertEqual(report["generations"][0]["prompt"], "Q: Why")
        self.assertEqual(len(report["generations"][0]["quantized"]), 8)
        self.assertLess(report["perplexity"]["rise"], 0.02)
        # Decoded on quantd's kernels straight from the stored 4-bit codes.
        self.assertEqual(report["speed"]["kernels"]["linears_by_scheme"], {"w4a8 g64": 28})
        self.assertLess(report["speed"]["kernels"]["rise"], 0.02)

    def test_quantize_llm_candidates_are_ranked(self):
        job = self.q.wait(self.q.quantize_llm(
            os.path.join(FIX, "tiny_llama"), os.path.join(FIX, "tiny_llama_calib_ids.npy"),
            os.path.join(FIX, "tiny_llama_eval_ids.npy"), method="rtn", calibration_rows=16,
            eval_rows=16, new_tokens=8, rule="most_accurate", min_decode_speedup=0,
            candidates=[{"bits": 8}, {"bits": 4, "group_size": 32, "name": "int4"}]).id,
            timeout=600)
        self.assertEqual(job.state, jobs_pb2.SUCCEEDED, job.error)
        board = self.q.leaderboard(job.id)
        self.assertEqual(board.winner, "rtn_w8g128")  # the lower perplexity
        self.assertEqual([r.candidate for r in board.rows], ["rtn_w8g128", "int4"])
        self.assertLess(board.rows[0].metrics["ppl_quantized"], board.rows[1].metrics["ppl_quantized"])
        config = json.load(open(self.q.download(job.id, "int4/checkpoint/config.json",
                                                os.path.join(self.dir, "int4.json"))))
        self.assertEqual(config["quantization_config"]["group_size"], 32)

    def test_an_llm_exports_to_gguf_that_llama_cpp_runs(self):
        job = self.q.wait(self.q.quantize_llm(
            os.path.join(FIX, "tiny_llama"), os.path.join(FIX, "tiny_llama_calib_ids.npy"),
            os.path.join(FIX, "tiny_llama_eval_ids.npy"), method="rtn", group_size=32,
            calibration_rows=8, eval_rows=8, new_tokens=8, export=["gguf"],
            min_decode_speedup=0).id, timeout=600)
        self.assertEqual(job.state, jobs_pb2.SUCCEEDED, job.error)
        exported = self.q.wait(self.q.export(job.id).id, timeout=600)
        self.assertEqual(exported.state, jobs_pb2.SUCCEEDED, exported.error)
        a = self.q.download(job.id, "model.gguf", os.path.join(self.dir, "a.gguf"))
        b = self.q.download(exported.id, "model.gguf", os.path.join(self.dir, "b.gguf"))
        with open(a, "rb") as fa, open(b, "rb") as fb:
            self.assertEqual(fa.read(), fb.read())
        with open(self.q.download(exported.id, "report", os.path.join(self.dir, "x.json"))) as f:
            report = json.load(f)
        self.assertLess(abs(report["perplexity"]["relative_difference"]), 0.005)
        self.assertEqual(report["perplexity"]["rows"], 8)
        # The file validated in llama.cpp against the float folder it came from.
        checked = self.q.wait(self.q.validate_gguf(
            b, os.path.join(FIX, "tiny_llama_eval_ids.npy"), eval_rows=8,
            float_checkpoint_dir=os.path.join(FIX, "tiny_llama")).id, timeout=600)
        self.assertEqual(checked.state, jobs_pb2.SUCCEEDED, checked.error)

    def test_an_int8_model_exports_to_onnx_that_onnx_runtime_checked(self):
        job = self.q.wait(self.q.quantize(os.path.join(FIX, "fashion_mlp.pt"),
                                          os.path.join(FIX, "fashion_test_images.npy"),
                                          export=["onnx"]).id, timeout=600)
        self.assertEqual(job.state, jobs_pb2.SUCCEEDED, job.error)
        exported = self.q.wait(self.q.export(job.id, fmt="onnx").id, timeout=600)
        self.assertEqual(exported.state, jobs_pb2.SUCCEEDED, exported.error)
        a = self.q.download(job.id, "model.onnx", os.path.join(self.dir, "a.onnx"))
        b = self.q.download(exported.id, "model.onnx", os.path.join(self.dir, "b.onnx"))
        with open(a, "rb") as fa, open(b, "rb") as fb:
            self.assertEqual(fa.read(), fb.read())
        import onnx
        model = onnx.load(b)
        onnx.checker.check_model(model, full_check=True)
        self.assertIn("MatMulInteger", {n.op_type for n in model.graph.node})
        with open(self.q.download(exported.id, "report", os.path.join(self.dir, "o.json"))) as f:
            report = json.load(f)
        self.assertEqual(report["verdict"], "PASS")
        self.assertGreaterEqual(report["worst"]["top1_agreement"], 0.999)

    def test_a_regressor_onnx_file_is_validated_in_onnx_runtime_on_plcc(self):
        # Seed 003: ship the ONNX file, gate it on PLCC against the labels, measured where it runs.
        model = os.path.join(FIX, "quality_mlp.pt")
        inputs = os.path.join(FIX, "quality_test_inputs.npy")
        scores = os.path.join(FIX, "quality_test_scores.npy")
        job = self.q.wait(self.q.quantize(model, inputs, export=["onnx"]).id, timeout=600)
        self.assertEqual(job.state, jobs_pb2.SUCCEEDED, job.error)
        onnx_path = self.q.download(job.id, "model.onnx", os.path.join(self.dir, "q.onnx"))
        v = self.q.wait(self.q.validate(model, onnx_path, inputs, labels=scores,
                                        backend="onnxruntime", max_plcc_drop=0.01,
                                        max_latency_ratio=100).id, timeout=600)
        self.assertEqual(v.state, jobs_pb2.SUCCEEDED, v.error)
        with open(self.q.download(v.id, "report", os.path.join(self.dir, "v.json"))) as f:
            report = json.load(f)
        self.assertEqual(report["backend"], "onnxruntime")
        self.assertEqual(report["sha256"], v.spec.validate.onnx_sha256)
        self.assertIn("plcc_drop", [g["name"] for g in report["gates"]])

    def test_a_regressor_is_gated_on_plcc(self):
        # Seed 003's agents: a quality predictor, float scores as labels, a PLCC-drop budget.
        job = self.q.wait(self.q.quantize(
            os.path.join(FIX, "quality_mlp.pt"), os.path.join(FIX, "quality_test_inputs.npy"),
            labels=os.path.join(FIX, "quality_test_scores.npy"), mode="static", max_drop=0.005,
            budget_metric="plcc").id, timeout=300)
        self.assertEqual(job.state, jobs_pb2.SUCCEEDED, job.error)
        report = json.loads(open(self.q.download(job.id, "report",
                                                 os.path.join(self.dir, "plcc.json"))).read())
        self.assertEqual(report["gates"][0]["name"], "plcc_drop")
        self.assertLessEqual(report["gates"][0]["value"], 0.005)
        self.assertGreater(report["accuracy"]["vs_labels"]["quantized"]["srocc"], 0.8)

    def test_validate_judges_a_quantized_model(self):
        model, inputs = os.path.join(FIX, "qnetwork.pt"), os.path.join(FIX, "qnetwork_inputs.npy")
        ptq = self.q.wait(self.q.quantize(model, inputs).id, timeout=300)
        quantized = next(o.sha256 for o in ptq.outputs if o.name == "model")
        check = self.q.wait(self.q.validate(model, quantized, inputs, max_latency_ratio=1000).id,
                            timeout=300)
        self.assertEqual(check.state, jobs_pb2.SUCCEEDED, check.error)
        strict = self.q.wait(self.q.validate(model, quantized, inputs,
                                             max_latency_ratio=1e-6).id, timeout=300)
        self.assertEqual(strict.state, jobs_pb2.FAILED)
        self.assertEqual(strict.failure_kind, jobs_pb2.GATE_FAILED)

    def test_example_agent_end_to_end(self):
        out = os.path.join(self.dir, "agent.pt")
        run = subprocess.run(
            [sys.executable, AGENT, "--server", self.address, "--model",
             os.path.join(FIX, "fashion_mlp.pt"), "--inputs",
             os.path.join(FIX, "fashion_test_images.npy"), "--labels",
             os.path.join(FIX, "fashion_test_labels.npy"), "--max-latency-ratio", "1000",
             "--out", out], capture_output=True, text=True, timeout=600)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        result = json.loads(run.stdout.strip().splitlines()[-1])
        self.assertTrue(result["passed"])
        self.assertTrue(os.path.getsize(out) > 1000)

    def test_errors_carry_the_grpc_code_and_the_field(self):
        with self.assertRaises(QuantdError) as bad:
            self.q.submit(jobs_pb2.JobSpec(ptq=jobs_pb2.PtqSpec()))
        self.assertEqual(bad.exception.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("ptq.model_sha256", bad.exception.message)
        with self.assertRaises(QuantdError) as missing:
            self.q.get("job-does-not-exist")
        self.assertEqual(missing.exception.code, grpc.StatusCode.NOT_FOUND)
        with self.assertRaises(QuantdError) as unknown:
            self.q.quantize("0" * 64, os.path.join(FIX, "qnetwork_inputs.npy"))
        self.assertEqual(unknown.exception.code, grpc.StatusCode.NOT_FOUND)
        with self.assertRaises(QuantdError) as no_output:
            self.q.download("job-does-not-exist", "model", os.path.join(self.dir, "x"))
        self.assertEqual(no_output.exception.code, grpc.StatusCode.NOT_FOUND)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "x")))


class PythonClientSecurityTest(unittest.TestCase):
    """Bearer token and TLS from Python: refusals are QuantdError with UNAUTHENTICATED or
    PERMISSION_DENIED, and a token with the right role over TLS works."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="quantd-py-tls-")
        d = cls.dir
        subprocess.run(
            f"cd {d} && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=ca "
            "-keyout ca.key -out ca.pem && openssl req -newkey rsa:2048 -nodes -subj "
            "/CN=127.0.0.1 -keyout s.key -out s.csr && printf 'subjectAltName=IP:127.0.0.1' > "
            "san && openssl x509 -req -in s.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
            "-days 2 -extfile san -out s.pem", shell=True, check=True, capture_output=True)
        with open(os.path.join(d, "tokens"), "w") as f:
            f.write("read py-reader-0123456789\nsubmit py-submitter-0123456789\n")
        cls.server = LiveQuantd("--tokens", os.path.join(d, "tokens"), "--tls-cert",
                                os.path.join(d, "s.pem"), "--tls-key", os.path.join(d, "s.key"),
                                local_workers=0, data_dir=os.path.join(d, "data"))
        cls.address = cls.server.address
        cls.ca = os.path.join(d, "ca.pem")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def answer(self, client):
        for _ in range(100):  # bounded: 10 s for the server to come up
            try:
                return client.get("job-none")
            except QuantdError as e:
                if e.code != grpc.StatusCode.UNAVAILABLE:
                    return e.code
            time.sleep(0.1)
        return None

    def test_tokens_and_tls(self):
        with QuantdClient(self.address, timeout=5, token="py-reader-0123456789",
                          tls_ca=self.ca) as reader:
            self.assertEqual(self.answer(reader), grpc.StatusCode.NOT_FOUND)
            with self.assertRaises(QuantdError) as denied:
                reader.upload(b"bytes")
            self.assertEqual(denied.exception.code, grpc.StatusCode.PERMISSION_DENIED)
        with QuantdClient(self.address, timeout=5, tls_ca=self.ca) as anonymous:
            self.assertEqual(self.answer(anonymous), grpc.StatusCode.UNAUTHENTICATED)
        with QuantdClient(self.address, timeout=5, token="py-submitter-0123456789",
                          tls_ca=self.ca) as submitter:
            self.assertEqual(len(submitter.upload(b"bytes")), 64)


if __name__ == "__main__":
    unittest.main(verbosity=2)
