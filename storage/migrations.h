// Versioned schema migrations, tracked in PRAGMA user_version.
#pragma once

#include "quantd/status.h"

namespace quantd::storage {

class Database;

// Applies every migration newer than the database's user_version, each in its own transaction.
// Fails with FAILED_PRECONDITION if the database is newer than this binary knows.
absl::Status ApplyMigrations(Database* db);
int LatestSchemaVersion();

}  // namespace quantd::storage
