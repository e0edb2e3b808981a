// Durable file writes shared by checkpoints, model directories and run-directory files.
#pragma once
#include <string>

namespace kd {

// Flushes a file's or directory's data to disk (best effort: unreadable paths are skipped).
void fsync_path(const std::string& path);
// Writes `text` to path.tmp, fsyncs it and renames it over `path`, then fsyncs the directory;
// readers never see a partial file. Throws kd::Error naming the file on failure.
void write_file_atomic(const std::string& path, const std::string& text);
std::string read_file(const std::string& path);

}  // namespace kd
