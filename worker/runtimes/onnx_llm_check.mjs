// ONNX Runtime (onnxruntime-node, pinned) on a language-model ONNX file quantd wrote, through its
// KV-cache signature: perplexity on token rows and greedy generations, as one JSON object on
// stdout. The worker runs it in the task's sandbox:
//   node onnx_llm_check.mjs REQUEST.json
// REQUEST: {"model": path, "rows": [[ids]], "prompts": [[ids]], "new_tokens": n, "threads": t,
//           "layers": L, "kv_heads": h, "head_dim": d, "batch": rows per run}.
// Perplexity follows quantd's protocol: rows independent (an empty cache each), T - 1
// predictions per row, natural-log NLL from the full softmax summed in float64.
import ort from "onnxruntime-node";

import { fail, readRequest } from "./runtime_request.mjs";

const request = readRequest();
const { layers, kv_heads: kvHeads, head_dim: headDim } = request;
const rows = request.rows ?? [];
const prompts = request.prompts ?? [];
const threads = request.threads ?? 1;
const batch = Math.max(1, request.batch ?? 8);

let session;
try {
  session = await ort.InferenceSession.create(request.model, {
    executionProviders: ["cpu"], graphOptimizationLevel: "all", intraOpNumThreads: threads,
    interOpNumThreads: 1, executionMode: "sequential", logSeverityLevel: 3,
  });
} catch (e) {
  fail(`onnxruntime could not load ${request.model}: ${e.message}`);
}

function ids(list, n, t) {
  return new ort.Tensor("int64", BigInt64Array.from(list.flat().map(BigInt)), [n, t]);
}

// The feed for `input` with the given cache (an empty one when `past` is null).
function feed(input, n, past) {
  const f = { input_ids: input };
  for (let i = 0; i < layers; ++i) {
    for (const kind of ["key", "value"]) {
      f[`past_key_values.${i}.${kind}`] = past
        ? past[`present.${i}.${kind}`]
        : new ort.Tensor("float32", new Float32Array(0), [n, kvHeads, 0, headDim]);
    }
  }
  return f;
}

// ln p(token) at one position of logits [.., vocab], in float64.
function logProb(logits, offset, vocab, token) {
  let max = -Infinity;
  for (let v = 0; v < vocab; ++v) max = Math.max(max, logits[offset + v]);
  let sum = 0;
  for (let v = 0; v < vocab; ++v) sum += Math.exp(logits[offset + v] - max);
  return logits[offset + token] - max - Math.log(sum);
}

function argmax(logits, offset, vocab) {
  let best = 0;
  for (let v = 1; v < vocab; ++v) if (logits[offset + v] > logits[offset + best]) best = v;
  return best;
}

let nll = 0, predictions = 0;
const started = performance.now();
try {
  for (let start = 0; start < rows.length; start += batch) {
    const chunk = rows.slice(start, start + batch);
    const t = chunk[0].length;
    const out = await session.run(feed(ids(chunk, chunk.length, t), chunk.length, null));
    const logits = out.logits.data, vocab = out.logits.dims[2];
    chunk.forEach((row, r) => {
      for (let i = 0; i < t - 1; ++i) {
        nll -= logProb(logits, (r * t + i) * vocab, vocab, row[i + 1]);
        predictions += 1;
      }
    });
  }
} catch (e) {
  fail(`onnxruntime could not run ${request.model}: ${e.message}`);
}
const evalSeconds = (performance.now() - started) / 1000;

const generations = [];
let decodeTokens = 0, decodeSeconds = 0;
try {
  for (const prompt of prompts) {
    let out = await session.run(feed(ids([prompt], 1, prompt.length), 1, null));
    let vocab = out.logits.dims[2];
    const generated = [argmax(out.logits.data, (prompt.length - 1) * vocab, vocab)];
    const t0 = performance.now();
    while (generated.length < (request.new_tokens ?? 0)) {
      out = await session.run(feed(ids([[generated.at(-1)]], 1, 1), 1, out));
      generated.push(argmax(out.logits.data, 0, vocab));
    }
    if (generated.length > 1) {
      decodeTokens += generated.length - 1;
      decodeSeconds += (performance.now() - t0) / 1000;
    }
    generations.push(generated);
  }
} catch (e) {
  fail(`onnxruntime could not generate with ${request.model}: ${e.message}`);
}

process.stdout.write(JSON.stringify({
  perplexity: predictions > 0 ? Math.exp(nll / predictions) : null,
  nll,
  predictions,
  eval_seconds: evalSeconds,
  generations,
  decode_tokens_per_s: decodeSeconds > 0 ? decodeTokens / decodeSeconds : null,
  threads,
  runtime: `onnxruntime-node ${ort.env.versions?.node ?? ""}`,
}) + "\n");
await session.release();
