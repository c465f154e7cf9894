// ONNX Runtime (onnxruntime-node, pinned) on an ONNX file quantd wrote: the outputs for every
// input row at each graph optimization level, and batch latency, as one JSON object on stdout.
// The worker runs it in the task's sandbox:
//   node onnx_runtime_check.mjs REQUEST.json
// REQUEST: {"model": path, "input": {"path": raw little-endian float32, "shape": [N, ...]},
//           "batch": rows per run, "levels": ["basic", "all"], "threads": t,
//           "outputs_dir": dir, "latency": {"batches": [1, 64], "iterations": n}}
// Each output is written to <outputs_dir>/<level>.<output name>.f32 (float32, row-major);
// latency per batch size is {median_ms, mean_ms, p95_ms, iterations}.
import { readFileSync, writeFileSync } from "node:fs";
import ort from "onnxruntime-node";

import { fail, readRequest } from "./runtime_request.mjs";

const request = readRequest();
const shape = request.input.shape;
const rows = shape[0];
const rowSize = shape.slice(1).reduce((a, b) => a * b, 1);
const raw = readFileSync(request.input.path);
if (raw.length !== rows * rowSize * 4) {
  fail(`input: ${raw.length} bytes for shape [${shape}]`);
}
const input = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
const batch = Math.max(1, request.batch ?? rows);
const threads = request.threads ?? 1;

function rowsTensor(start, count) {
  return new ort.Tensor("float32", input.subarray(start * rowSize, (start + count) * rowSize),
                        [count, ...shape.slice(1)]);
}

// Rows [0, count) cycled to `count` rows, for latency at a batch larger than the data.
function latencyTensor(count) {
  if (count <= rows) return rowsTensor(0, count);
  const data = new Float32Array(count * rowSize);
  for (let r = 0; r < count; ++r) data.set(input.subarray((r % rows) * rowSize, (r % rows + 1) * rowSize), r * rowSize);
  return new ort.Tensor("float32", data, [count, ...shape.slice(1)]);
}

// Milliseconds per run: median, mean and 95th percentile (nearest rank).
function stats(values) {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const p95 = s[Math.min(s.length - 1, Math.ceil(0.95 * s.length) - 1)];
  return { median_ms: s[Math.floor(s.length / 2)], mean_ms: mean, p95_ms: p95,
           iterations: s.length };
}

const answer = { runtime: "onnxruntime", version: ort.env.versions?.node ?? "", threads, levels: {} };
for (const level of request.levels ?? ["basic", "all"]) {
  let session;
  const loadStarted = performance.now();
  try {
    session = await ort.InferenceSession.create(request.model, {
      executionProviders: ["cpu"],
      graphOptimizationLevel: level,
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: "sequential",
      logSeverityLevel: 3,
    });
  } catch (e) {
    fail(`onnxruntime could not load ${request.model} (${level}): ${e.message}`);
  }
  const loadMs = performance.now() - loadStarted;
  const inputName = session.inputNames[0];
  const chunks = Object.fromEntries(session.outputNames.map((n) => [n, []]));
  const shapes = {};
  try {
    for (let start = 0; start < rows; start += batch) {
      const count = Math.min(batch, rows - start);
      const result = await session.run({ [inputName]: rowsTensor(start, count) });
      for (const name of session.outputNames) {
        chunks[name].push(Buffer.from(result[name].data.buffer, result[name].data.byteOffset,
                                      result[name].data.byteLength));
        shapes[name] = [rows, ...result[name].dims.slice(1)];
      }
    }
  } catch (e) {
    fail(`onnxruntime could not run ${request.model} (${level}): ${e.message}`);
  }
  const outputs = [];
  for (const name of session.outputNames) {
    const file = `${request.outputs_dir}/${level}.${name}.f32`;
    writeFileSync(file, Buffer.concat(chunks[name]));
    outputs.push({ name, shape: shapes[name], file });
  }
  const latency = {};
  for (const b of request.latency?.batches ?? []) {
    const feed = { [inputName]: latencyTensor(b) };
    await session.run(feed);  // warm-up
    const times = [];
    const iterations = Math.max(1, request.latency.iterations ?? 20);
    for (let i = 0; i < iterations; ++i) {
      const t0 = performance.now();
      await session.run(feed);
      times.push(performance.now() - t0);
    }
    latency[String(b)] = stats(times);
  }
  answer.levels[level] = { load_ms: loadMs, outputs, latency_ms: latency };
  await session.release();
}
process.stdout.write(JSON.stringify(answer) + "\n");
