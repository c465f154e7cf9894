// The task process: `quantd-worker --task-process FD --threads N`, started by the worker for one
// job. It confines itself before it reads a model, then runs each task the worker sends over FD
// through the job kind's handler, with a TaskContext whose every call goes back over FD. It has
// no scheduler connection, no token, no network and no files but its scratch directory.
#pragma once

namespace quantd::worker {

// Returns the process exit code: 0 when the worker closed the channel.
int RunTaskProcess(int fd, int threads);

}  // namespace quantd::worker
