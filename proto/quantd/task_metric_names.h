// Names of the TaskMetrics values workers report and the scheduler ranks by: one list, so the
// two sides cannot drift apart.
#pragma once

namespace quantd::metric {

inline constexpr char kSizeBytes[] = "size_bytes";              // int8 archive
inline constexpr char kFloatSizeBytes[] = "float_size_bytes";
inline constexpr char kLatencyP95Ms[] = "latency_p95_ms";       // batch 1, int8
inline constexpr char kLatencyMedianMs[] = "latency_median_ms";
inline constexpr char kFloatLatencyP95Ms[] = "float_latency_p95_ms";
inline constexpr char kThroughput[] = "throughput_samples_per_s";
inline constexpr char kTop1Agreement[] = "top1_agreement";      // with the float model
inline constexpr char kAccuracy[] = "accuracy";                 // with labels only
inline constexpr char kFloatAccuracy[] = "float_accuracy";
// A regressor (one output value per sample): PLCC of the int8 model against the labels (or
// against float without labels; then float_plcc is 1), so plcc drop = float_plcc - plcc.
inline constexpr char kPlcc[] = "plcc";
inline constexpr char kFloatPlcc[] = "float_plcc";
inline constexpr char kRmse[] = "rmse";  // int8 vs float
// A crossover child against its parents (top-1 agreement, KL(parent || child), output MSE).
inline constexpr char kAgreeA[] = "agree_a";
inline constexpr char kAgreeB[] = "agree_b";
inline constexpr char kKlA[] = "kl_a";
inline constexpr char kKlB[] = "kl_b";
inline constexpr char kMseA[] = "mse_a";
inline constexpr char kMseB[] = "mse_b";
inline constexpr char kOracleAgreement[] = "oracle_agreement";    // matches A or B
inline constexpr char kParentsAgreement[] = "parents_agreement";  // A vs B
inline constexpr char kInt8[] = "int8";                           // 1 when the child is int8
// A WEIGHT_ONLY_LLM candidate: perplexities on the evaluation ids, their relative rise, decode
// tokens/s at batch 1 of the quantized model and its ratio to the fastest float path.
inline constexpr char kPplFloat[] = "ppl_float";
inline constexpr char kPplQuantized[] = "ppl_quantized";
inline constexpr char kPplRise[] = "ppl_rise";
// The same codes decoding on quantd's kernels (int8 activations): their own perplexity rise.
inline constexpr char kKernelsPplRise[] = "kernels_ppl_rise";
inline constexpr char kDecodeTokensPerS[] = "decode_tokens_per_s";
inline constexpr char kDecodeSpeedup[] = "decode_speedup";
inline constexpr char kQuantizeSeconds[] = "quantize_seconds";
// An exported file in its runtime: that runtime's perplexity and its relative difference from
// quantd's own on the same stored model.
inline constexpr char kRuntimePpl[] = "ppl_runtime";
inline constexpr char kRuntimePplDifference[] = "ppl_runtime_difference";
// An int8 model exported to ONNX, in ONNX Runtime against its TorchScript (worst over
// optimization levels and outputs), its batch-1 latency there and the file's size.
inline constexpr char kRuntimeOutputSteps[] = "runtime_max_output_steps";
inline constexpr char kRuntimeWithinOneStep[] = "runtime_within_one_step";
inline constexpr char kRuntimeTop1Agreement[] = "runtime_top1_agreement";
inline constexpr char kRuntimePlcc[] = "runtime_plcc";
inline constexpr char kRuntimeLatencyMs[] = "runtime_latency_ms";
inline constexpr char kOnnxSizeBytes[] = "onnx_size_bytes";
// Derived by the scheduler from the values above.
inline constexpr char kObjective[] = "objective";                 // the search's ranking value
inline constexpr char kAccuracyDrop[] = "accuracy_drop";
inline constexpr char kRelativeAccuracyDrop[] = "accuracy_drop_relative";
inline constexpr char kPlccDrop[] = "plcc_drop";

}  // namespace quantd::metric
