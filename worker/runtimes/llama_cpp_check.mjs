// llama.cpp (node-llama-cpp, pinned) on a GGUF file quantd wrote: perplexity on token rows and
// greedy generations, as one JSON object on stdout. The worker runs it in the task's sandbox:
//   node llama_cpp_check.mjs REQUEST.json
// REQUEST: {"gguf": path, "rows": [[ids]], "prompts": [[ids]], "new_tokens": n, "threads": t}.
// Perplexity follows quantd's protocol: rows independent (a fresh sequence each), T - 1
// predictions per row, natural-log NLL summed in float64, from llama.cpp's full softmax.
import { getLlama } from "node-llama-cpp";

import { fail, readRequest } from "./runtime_request.mjs";

const request = readRequest();
const rows = request.rows ?? [];
const prompts = request.prompts ?? [];
const longest = Math.max(2, ...rows.map((r) => r.length),
                         ...prompts.map((p) => p.length + (request.new_tokens ?? 0)));
const threads = request.threads ?? 1;

let llama, model, context;
try {
  // Prebuilt CPU binaries only: never compile, download, or touch a GPU.
  llama = await getLlama({ gpu: false, build: "never", usePrebuiltBinaries: true,
                           progressLogs: false, logLevel: "error" });
  model = await llama.loadModel({ modelPath: request.gguf, gpuLayers: 0 });
  context = await model.createContext({ contextSize: longest, batchSize: longest, threads,
                                        sequences: 1 });
} catch (e) {
  fail(`llama.cpp could not load ${request.gguf}: ${e.message}`);
}
const sequence = context.getSequence();
const plain = { temperature: 1, topK: 0, topP: 1, minP: 0 };

let nll = 0, predictions = 0;
const started = performance.now();
for (const row of rows) {
  await sequence.clearHistory();
  const input = row.map((token, i) =>
    i < row.length - 1 ? [token, { generateNext: { probabilities: true, options: plain } }] : token);
  const output = await sequence.controlledEvaluate(input);
  for (let i = 0; i < row.length - 1; ++i) {
    const p = output[i]?.next?.probabilities?.get(row[i + 1]) ?? 0;
    nll -= Math.log(p);
    predictions += 1;
  }
}
const evalSeconds = (performance.now() - started) / 1000;

const generations = [];
let decodeTokens = 0, decodeSeconds = 0;
for (const prompt of prompts) {
  await sequence.clearHistory();
  const generated = [];
  let t0 = 0;
  for await (const token of sequence.evaluate(prompt, { temperature: 0 })) {
    if (generated.length === 0) t0 = performance.now();  // decode time excludes the prompt
    generated.push(token);
    if (generated.length >= (request.new_tokens ?? 0)) break;
  }
  if (generated.length > 1) {
    decodeTokens += generated.length - 1;
    decodeSeconds += (performance.now() - t0) / 1000;
  }
  generations.push(generated);
}

process.stdout.write(JSON.stringify({
  perplexity: predictions > 0 ? Math.exp(nll / predictions) : null,
  nll,
  predictions,
  eval_seconds: evalSeconds,
  generations,
  decode_tokens_per_s: decodeSeconds > 0 ? decodeTokens / decodeSeconds : null,
  threads,
  runtime: "node-llama-cpp 3.21.1",
}) + "\n");
await context.dispose();
await model.dispose();
await llama.dispose();
