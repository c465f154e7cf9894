// RAII wrappers over one SQLite connection: Database, Statement, Transaction. All errors come
// back as absl::Status; nothing throws.
//
// Threading: a Database is one connection. Callers serialize use with Lock(); repositories take
// the lock for the whole of each operation, so a transaction never interleaves with another.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "quantd/status.h"

namespace quantd::storage {

class Statement;

class Database {
 public:
  struct Options {
    std::string path;           // file path; ":memory:" for tests
    int busy_timeout_ms = 5000; // wait this long for another process's write lock
  };
  // Opens (creating if needed) in WAL mode with foreign keys on, and applies migrations.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const Options& options);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  std::unique_lock<std::mutex> Lock() { return std::unique_lock<std::mutex>(mu_); }
  absl::Status Exec(std::string_view sql);
  absl::StatusOr<Statement> Prepare(std::string_view sql);
  int64_t Changes() const { return sqlite3_changes64(db_); }
  absl::Status Error(std::string_view what) const;

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::mutex mu_;
};

// One prepared statement; bind by 1-based index, Step() until it returns false.
class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  ~Statement();

  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, std::string_view text);
  Statement& BindBlob(int index, std::string_view bytes);
  Statement& BindNull(int index);
  Statement& BindOptional(int index, const std::optional<std::string>& text);

  // true: a row is ready; false: done. Errors (including bind errors) surface here.
  absl::StatusOr<bool> Step();
  // Runs to completion, expecting no rows.
  absl::Status Run();

  int64_t ColumnInt(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string ColumnText(int col) const;
  bool ColumnIsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  friend class Database;
  Statement(Database* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  void NoteBind(int rc);
  Database* db_;
  sqlite3_stmt* stmt_;
  int bind_error_ = SQLITE_OK;
};

// BEGIN IMMEDIATE on construction; ROLLBACK in the destructor unless Commit() succeeded.
// The caller must already hold the Database lock.
class Transaction {
 public:
  static absl::StatusOr<std::unique_ptr<Transaction>> Begin(Database* db);
  ~Transaction();
  absl::Status Commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_;
  bool done_ = false;
};

}  // namespace quantd::storage
