// quantctl: the command-line client. Global flags: --server HOST:PORT (or $QUANTD_ADDR), --json.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "client/quantctl/commands.h"

namespace {

constexpr char kUsage[] =
    "usage: quantctl [--server HOST:PORT] [--token T] [--tls-ca PEM] [--json] COMMAND ...\n"
    "  (or $QUANTD_ADDR, $QUANTD_TOKEN, $QUANTD_TLS_CA)\n"
    "\n"
    "commands:\n"
    "  upload FILE [--media-type T]           store a file, print its sha256\n"
    "  submit ptq --model FILE|SHA256 [...]   submit a job (--wait to follow it)\n"
    "      --inputs NPY|NPZ|SHA256 [--npz-array NAME] | --synthetic-shape D,D,...\n"
    "      [--synthetic-count N] [--seed S]\n"
    "      [--labels NPY|SHA256] [--mode dynamic|static] [--granularity per-channel|per-tensor]\n"
    "      [--calibration minmax|percentile|entropy|mse] [--percentile P]\n"
    "      [--calibration-data NPY|SHA256] [--calibration-samples N] [--calibration-batch B]\n"
    "      [--keep-float NAME,...] [--keep-float-type TYPE,...]\n"
    "      [--max-drop D [--budget-metric accuracy|top1-agreement|output-mse|plcc] [--relative]\n"
    "       [--accuracy-aware]]   gate; accuracy-aware reverts the worst layers to float\n"
    "      [--engine onednn|qnnpack|auto] [--top-k K] [--latency-iterations N]\n"
    "      [--throughput-batch B] [--request-id ID] [--max-attempts N] [--wait [-o DIR]]\n"
    "      [--deadline-seconds S] [--memory-mb MB] [--cpu-seconds S]   every kind: the task\n"
    "          process is killed past them (DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED)\n"
    "  submit qat --model FILE|SHA256 --train NPY [--train-labels NPY] [--teacher T]\n"
    "      [--inputs NPY [--labels NPY]] [--epochs 5] [--lr 1e-4] [--batch-size 32]\n"
    "      [--loss mse|kl|ce] [--temperature 3] [--granularity per-channel|per-tensor]\n"
    "  submit head_to_head --model FILE|SHA256 (--inputs NPY | --synthetic-shape ...)\n"
    "      [--labels NPY]   the evaluation data every candidate is judged on\n"
    "      [--train NPY [--train-labels NPY]]   QAT training / calibration data (default: inputs)\n"
    "      [--candidate REGIME[,key=value...]]...   default: ptq-dynamic, ptq-static, qat\n"
    "          ptq-dynamic: name, granularity   ptq-static: + calibration, percentile\n"
    "          qat: + epochs, lr, loss, batch-size, temperature\n"
    "      [--max-size-bytes N] [--max-latency-ms MS] [--max-accuracy-drop D [--relative]]\n"
    "      [--drop-metric accuracy|top1-agreement|plcc]   plcc for regressors (default then)\n"
    "      [--rule most-accurate|smallest|fastest]   gates and how the winner is picked\n"
    "  submit crossover_search --parent-a F --parent-b F --inputs STATES_NPY\n"
    "      [--eval NPY [--eval-labels NPY]]   held-out evaluation (default: the inputs)\n"
    "      [--preset minimal|default|minimal-qat|default-qat]   a preset search, or a space:\n"
    "      [--strategies random,layer,weighted,aligned] [--alphas 0.3,0.5] [--seeds 0,1]\n"
    "      [--regimes short,medium,long,lr_high,short_qat,none[+ptq_dynamic|+ptq_static],...]\n"
    "      [--max-trials N] [--timeout S] [--objective min|mean|accuracy]\n"
    "      [--distill-target a|mean] [--loss kl|mse] [--temperature 3]\n"
    "  validate --float F --quantized Q [--teacher T] (--inputs NPY | --synthetic-shape ...)\n"
    "      [--labels NPY] [--min-top1 0.75] [--min-topk 0.5] [--min-teacher 0.75]\n"
    "      [--max-latency-ratio 2.0] [--max-accuracy-drop D]   compare and judge; waits\n"
    "      [--max-plcc-drop 0.01]   regressors (one output value) are judged by PLCC instead\n"
    "  watch JOB                              follow a job's events to the end\n"
    "  get JOB                                show a job\n"
    "  list [--state S] [--kind K] [--limit N] [--page-token T]\n"
    "  cancel JOB                             cancel a queued or running job\n"
    "  compare JOB [--sort-by METRIC] [--descending] [--limit N] [--wait]\n"
    "                                         ranked head-to-head candidates, gates, winner\n"
    "  leaderboard JOB [--sort-by METRIC] [--descending] [--limit N] [--wait]\n"
    "                                         ranked crossover children and parent baselines\n"
    "  download JOB OUTPUT -o FILE            fetch an output (model, report, manifest;\n"
    "                                         head-to-head: CANDIDATE/model, winner/model)\n"
    "  download SHA256 -o FILE                fetch any stored artifact\n"
    "  report JOB [OUTPUT]                    a report, readable: every output's metrics, size,\n"
    "                                         latency, gates (OUTPUT: winner/report, ...)\n"
    "\n"
    "job kinds: ptq (dynamic or static INT8), qat, head_to_head, crossover_search, validate;\n"
    "           weight_only_llm arrives in a later release\n"
    "calibration methods (static): minmax (observed range), percentile (clip tails),\n"
    "           entropy (KL-optimal threshold), mse (least expected quantization error)\n"
    "exit codes: 0 done, 1 job failed or cancelled (a failed gate or no head-to-head winner\n"
    "            keeps every output), 2 usage / connection / server error\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace quantd::client;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto cl = CommandLine::Parse(args, {"--json", "--wait", "--help", "--relative",
                                      "--accuracy-aware", "--descending", "--version"});
  if (cl.ok() && cl->Has("--version")) {
    printf("quantctl %s\n", QUANTD_VERSION);
    return kExitOk;
  }
  if (cl.ok() && cl->Has("--help")) {
    printf("%s", kUsage);  // asked for: stdout, so `quantctl --help | less` works
    return kExitOk;
  }
  if (!cl.ok()) {
    // Name what was wrong; the whole usage would bury it.
    fprintf(stderr, "quantctl: %s (see quantctl --help)\n",
            std::string(cl.status().message()).c_str());
    return kExitError;
  }
  if (cl->positional().empty()) {
    fprintf(stderr, "%s", kUsage);
    return kExitError;
  }
  std::string address = "127.0.0.1:7070";
  if (const char* env_addr = getenv("QUANTD_ADDR")) address = env_addr;
  if (auto s = cl->Get("--server")) address = *s;
  QuantdClient::Options options;
  options.address = address;
  auto security = quantd::LoadChannelSecurity(cl->Get("--token").value_or(""),
                                              cl->Get("--tls-ca").value_or(""));
  if (!security.ok()) {
    fprintf(stderr, "quantctl: %s\n", std::string(security.status().message()).c_str());
    return kExitError;
  }
  options.security = *security;
  QuantdClient client(options);
  CommandEnv env{&client, cl->Has("--json"), address};

  const std::string& command = cl->positional()[0];
  if (command == "upload") return RunUpload(env, *cl);
  if (command == "download") return RunDownload(env, *cl);
  if (command == "submit") return RunSubmit(env, *cl);
  if (command == "validate") {
    std::vector<std::string> submit_args = {"submit"};
    submit_args.insert(submit_args.end(), args.begin(), args.end());
    auto as_submit = CommandLine::Parse(submit_args, {"--json", "--wait", "--help"});
    return as_submit.ok() ? RunSubmit(env, *as_submit, true) : kExitError;
  }
  if (command == "get") return RunGet(env, *cl);
  if (command == "list") return RunList(env, *cl);
  if (command == "cancel") return RunCancel(env, *cl);
  if (command == "watch") return RunWatch(env, *cl);
  if (command == "compare" || command == "leaderboard") return RunCompare(env, *cl);
  if (command == "report") return RunReport(env, *cl);
  fprintf(stderr, "quantctl: unknown command '%s'\n\n%s", command.c_str(), kUsage);
  return kExitError;
}
