#!/usr/bin/env python3
"""An agent step: quantize a model, judge the result with VALIDATE, keep it only if it passes.

    PYTHONPATH=build/python:client/python python3 client/python/example_agent.py \
        --server 127.0.0.1:7070 --model model.pt --inputs x.npy [--labels y.npy] --out model.int8.pt

Prints one JSON line (what an orchestrating agent would read) and exits 0 when the quantized
model passed and was downloaded, 1 when a job failed or a gate did not hold.
"""
import argparse
import json
import sys

from quantd.v1 import jobs_pb2
from quantd_client import QuantdClient, QuantdError


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--server", default="127.0.0.1:7070")
    p.add_argument("--model", required=True)
    p.add_argument("--inputs", required=True)
    p.add_argument("--labels")
    p.add_argument("--mode", default="dynamic", choices=["dynamic", "static"])
    p.add_argument("--min-top1", type=float, default=0.75)
    p.add_argument("--max-latency-ratio", type=float, default=2.0)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    with QuantdClient(a.server) as q:
        try:
            ptq = q.wait(q.quantize(a.model, a.inputs, a.labels, mode=a.mode).id)
            if ptq.state != jobs_pb2.SUCCEEDED:
                print(json.dumps({"step": "quantize", "job": ptq.id, "error": ptq.error}))
                return 1
            model = next(o.sha256 for o in ptq.outputs if o.name == "model")
            check = q.wait(q.validate(a.model, model, a.inputs, a.labels,
                                      min_top1_agreement=a.min_top1,
                                      max_latency_ratio=a.max_latency_ratio).id)
            passed = check.state == jobs_pb2.SUCCEEDED
            if passed:
                q.download(ptq.id, "model", a.out)
            print(json.dumps({"step": "validate", "quantize_job": ptq.id, "validate_job": check.id,
                              "passed": passed, "error": check.error,
                              "model_sha256": model, "saved_to": a.out if passed else None}))
            return 0 if passed else 1
        except QuantdError as e:
            print(json.dumps({"error": {"code": e.code.name, "message": e.message}}))
            return 1


if __name__ == "__main__":
    sys.exit(main())
