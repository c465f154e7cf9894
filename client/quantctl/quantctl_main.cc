// quantctl: the command-line client. Global flags: --server HOST:PORT (or $QUANTD_ADDR), --json.
// The command table and the kind table (through submit) are the help text.
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "client/quantctl/commands.h"
#include "client/quantctl/kind_flags.h"

namespace {

using quantd::client::CommandEnv;
using quantd::client::CommandLine;

struct Command {
  const char* name;
  const char* synopsis;
  const char* help;
  int (*run)(CommandEnv&, const CommandLine&);
};

int Submit(CommandEnv& env, const CommandLine& cl) { return quantd::client::RunSubmit(env, cl); }

const std::vector<Command>& Commands() {
  using namespace quantd::client;
  static const std::vector<Command> kCommands = {
      {"upload", "FILE [--media-type T]", "store a file, print its sha256", RunUpload},
      {"submit", "KIND [flags]", "submit a job (--wait to follow it; submit KIND --help)", Submit},
      {"validate", "--float F --quantized Q [flags]",
       "submit validate and wait: compare two models under gates", nullptr},
      {"get", "JOB [-o json|yaml|wide]", "show a job and its headline numbers", RunGet},
      {"list", "[--state S] [--kind K] [--limit N] [--page-token T] [-o json|yaml|wide]",
       "list jobs, newest first", RunList},
      {"watch", "JOB", "follow a job's events to the end", RunWatch},
      {"cancel", "JOB", "cancel a queued or running job (again: a no-op)", RunCancel},
      {"compare", "JOB [--sort-by METRIC] [--descending] [--limit N] [--wait]",
       "ranked head-to-head candidates, gates, winner", RunCompare},
      {"leaderboard", "JOB [--sort-by METRIC] [--descending] [--limit N] [--wait]",
       "ranked crossover children and parent baselines", RunCompare},
      {"download", "JOB OUTPUT -o FILE | SHA256 -o FILE",
       "fetch an output (model, report, manifest; CANDIDATE/model, winner/model) or any "
       "artifact", RunDownload},
      {"report", "JOB [OUTPUT]", "a report, readable: metrics, size, latency, gates", RunReport},
  };
  return kCommands;
}

std::string Usage() {
  std::string out =
      "usage: quantctl [--server HOST:PORT] [--token T] [--tls-ca PEM] [--json] COMMAND ...\n"
      "  (or $QUANTD_ADDR, $QUANTD_TOKEN, $QUANTD_TLS_CA; quantctl COMMAND --help)\n\ncommands:\n";
  for (const Command& c : Commands()) {
    std::string left = "  " + std::string(c.name);
    left.resize(15, ' ');
    out += left + c.help + "\n";
  }
  out += "\n" + quantd::client::SubmitHelp().substr(
                    quantd::client::SubmitHelp().find("kinds:"));
  out +=
      "\nexit codes: 0 done, 1 job failed or cancelled (a failed gate or no head-to-head winner\n"
      "            keeps every output), 2 usage / connection / server error\n";
  return out;
}

const Command* FindCommand(const std::string& name) {
  for (const Command& c : Commands()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace quantd::client;
  std::vector<std::string> args(argv + 1, argv + argc);
  std::set<std::string> switches = SwitchFlags();
  switches.insert({"--json", "--wait", "--help", "--descending", "--version"});
  auto cl = CommandLine::Parse(args, switches);
  if (cl.ok() && cl->Has("--version")) {
    printf("quantctl %s\n", QUANTD_VERSION);
    return kExitOk;
  }
  if (!cl.ok()) {
    // Name what was wrong; the whole usage would bury it.
    fprintf(stderr, "quantctl: %s (see quantctl --help)\n",
            std::string(cl.status().message()).c_str());
    return kExitError;
  }
  const Command* command = cl->positional().empty() ? nullptr
                                                    : FindCommand(cl->positional()[0]);
  // submit and validate print their kind's flag table themselves.
  bool prints_own_help = command && (command->run == Submit || !command->run);
  if (cl->Has("--help") && !prints_own_help) {
    // Asked for: stdout, so `quantctl --help | less` works.
    if (command) printf("usage: quantctl %s %s\n  %s\n", command->name, command->synopsis,
                        command->help);
    else printf("%s", Usage().c_str());
    return kExitOk;
  }
  if (cl->positional().empty()) {
    fprintf(stderr, "%s", Usage().c_str());
    return kExitError;
  }
  if (!command) {
    fprintf(stderr, "quantctl: unknown command '%s' (see quantctl --help)\n",
            cl->positional()[0].c_str());
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

  if (command->run) return command->run(env, *cl);
  // validate ... is submit validate ... --wait.
  std::vector<std::string> submit_args = {"submit"};
  submit_args.insert(submit_args.end(), args.begin(), args.end());
  auto as_submit = CommandLine::Parse(submit_args, switches);
  return as_submit.ok() ? RunSubmit(env, *as_submit, true) : kExitError;
}
