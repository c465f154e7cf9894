// Task process main loop and its channel-backed TaskContext.
#include "worker/sandbox/task_process.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "quantd/v1/task_sandbox.pb.h"
#include "worker/engine/runtime_setup.h"
#include "worker/export/node_runtime.h"
#include "worker/handlers/task_handlers.h"
#include "worker/sandbox/confinement.h"
#include "worker/sandbox/frame_channel.h"
#include "worker/tokenizer/sentencepiece_tokenizer.h"

namespace quantd::worker {
namespace {

// Every call is one frame out and one reply back; a broken channel means the worker is gone.
class ChannelTaskContext : public TaskContext {
 public:
  ChannelTaskContext(int fd, std::string worker_id, std::string sandbox, uint64_t memory_bytes)
      : fd_(fd), worker_id_(std::move(worker_id)), sandbox_(std::move(sandbox)),
        memory_bytes_(memory_bytes) {}

  absl::StatusOr<std::string> FetchArtifact(const std::string& sha256) override {
    v1::ChildCall call;
    call.set_fetch_sha256(sha256);
    ASSIGN_OR_RETURN(v1::ParentReply reply, Call(call));
    return std::move(*reply.mutable_bytes());
  }
  absl::StatusOr<v1::ArtifactRef> StoreArtifact(const std::string& name,
                                                const std::string& media_type,
                                                const std::string& bytes) override {
    v1::ChildCall call;
    call.mutable_store()->set_name(name);
    call.mutable_store()->set_media_type(media_type);
    call.mutable_store()->set_bytes(bytes);
    ASSIGN_OR_RETURN(v1::ParentReply reply, Call(call));
    return reply.artifact();
  }
  void ReportProgress(const std::string& phase, uint32_t step, uint32_t total) override {
    v1::ChildCall call;
    call.mutable_progress()->set_phase(phase);
    call.mutable_progress()->set_step(step);
    call.mutable_progress()->set_total(total);
    (void)Call(call);
  }
  absl::Status SaveCheckpoint(const std::string& bytes, uint32_t step) override {
    v1::ChildCall call;
    call.mutable_checkpoint()->set_bytes(bytes);
    call.mutable_checkpoint()->set_step(step);
    return Call(call).status();
  }
  bool Cancelled() const override { return cancelled_; }
  std::string WorkerId() const override { return worker_id_; }
  std::string Sandbox() const override { return sandbox_; }
  uint64_t MemoryLimitBytes() const override { return memory_bytes_; }

 private:
  absl::StatusOr<v1::ParentReply> Call(const v1::ChildCall& call) {
    RETURN_IF_ERROR(WriteFrame(fd_, call));
    v1::ParentReply reply;
    RETURN_IF_ERROR(ReadFrame(fd_, &reply));
    cancelled_ = cancelled_ || reply.cancelled();
    if (reply.code() != 0) {
      return absl::Status(static_cast<absl::StatusCode>(reply.code()), reply.message());
    }
    return reply;
  }

  int fd_;
  std::string worker_id_;
  std::string sandbox_;
  uint64_t memory_bytes_;
  bool cancelled_ = false;
};

v1::TaskOutcome OutcomeOf(const absl::StatusOr<TaskResult>& result) {
  v1::TaskOutcome o;
  if (result.ok()) {
    o.set_ok(true);
    for (const auto& ref : result->outputs) *o.add_outputs() = ref;
    o.set_gate_failure(result->gate_failure);
    *o.mutable_metrics() = result->metrics;
    return o;
  }
  o.set_code(static_cast<int32_t>(result.status().code()));
  o.set_message(std::string(result.status().message()));
  o.set_failure_kind(FailureKindOf(result.status()));
  return o;
}

ConfinementLimits LimitsFor(const v1::ResourceLimits& r, const std::string& scratch) {
  ConfinementLimits l;
  l.scratch_dir = scratch;
  l.memory_bytes = uint64_t{r.memory_mb()} << 20;
  l.cpu_seconds = r.cpu_seconds();
  l.open_files = r.open_files();
  l.file_bytes = l.memory_bytes;
  // The runtimes that check exported files (node packages next to the binaries), by their real
  // path: Landlock rules follow the file, not the name.
  char real[PATH_MAX];
  if (realpath(RuntimesDir().c_str(), real)) l.read_only_dirs.push_back(real);
  return l;
}

}  // namespace

int RunTaskProcess(int fd, int threads) {
  // Dies with its worker: a SIGKILLed worker must not leave a model spinning on its own.
  pid_t worker = getppid();
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != worker) return 3;  // the worker died before the line above
  v1::TaskStart start;
  absl::Status read = ReadFrame(fd, &start);
  if (absl::IsNotFound(read)) return 0;
  if (!read.ok()) {
    fprintf(stderr, "task process: %s\n", std::string(read.message()).c_str());
    return 3;
  }
  // What LibTorch reads from /proc to size its thread pools, read while it still can: procfs
  // files cannot be granted one by one under Landlock, and /proc as a whole would show the
  // worker's environment.
  SetIntraOpThreads(threads);
  (void)SelectQuantizedEngine("onednn");
  (void)CpuFlags();
  // A language model's tokenizer.model needs the SentencePiece module, which cannot be opened
  // once the filesystem is closed; the handler's own open then finds it loaded. Without it such
  // a task fails by name when it meets the file.
  if (start.task().kind() == v1::WEIGHT_ONLY_LLM) {
    auto sentencepiece = SentencePieceLibrary::Open();
    if (!sentencepiece.ok()) {
      fprintf(stderr, "task process: %s\n", std::string(sentencepiece.status().message()).c_str());
    }
  }
  // Confined once, before any model is read: the limits are the job's (one process per job).
  char cwd[4096];
  std::string scratch = getcwd(cwd, sizeof(cwd)) ? cwd : ".";
  ConfinementLimits limits = LimitsFor(start.task().spec().resources(), scratch);
  auto confined = ConfineTaskProcess(limits);
  if (!confined.ok()) {
    fprintf(stderr, "task process: %s\n", std::string(confined.status().message()).c_str());
    return 3;
  }
  while (true) {
    ChannelTaskContext ctx(fd, start.worker_id(), *confined, limits.memory_bytes);
    absl::StatusOr<TaskResult> result;
    auto handler = HandlerFor(start.task().kind());
    try {
      result = handler.ok() ? (*handler)(start.task(), ctx)
                            : absl::StatusOr<TaskResult>(handler.status());
    } catch (const std::bad_alloc&) {
      // Outside every engine edge (a frame, a decoded array): the limit, not a crash.
      result = absl::ResourceExhaustedError(
          "out of memory: the task process's limit is " +
          std::to_string(limits.memory_bytes >> 20) + " MiB (spec.resources.memory_mb)");
    }
    v1::ChildCall done;
    *done.mutable_outcome() = OutcomeOf(result);
    done.mutable_outcome()->set_sandbox(*confined);
    if (!WriteFrame(fd, done).ok()) return 3;
    read = ReadFrame(fd, &start);
    if (absl::IsNotFound(read)) return 0;
    if (!read.ok()) return 3;
  }
}

}  // namespace quantd::worker
