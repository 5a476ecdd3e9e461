// Progress of long work on the terminal, and metrics as JSON lines.
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <optional>
#include <string>

namespace attograd {

// On a terminal: one line redrawn in place,
//   train copy [#########-----------]  90/200  loss 0.8123  lr 1.1e-03  5210 tok/s  0:41 left
// Elsewhere (a pipe, a CI log): a plain line every 10% of the work.
class ProgressBar {
 public:
  ProgressBar(std::string label, std::int64_t total, bool quiet = false);
  void update(std::int64_t done, const std::string& stats);
  void finish();  // ends the line

 private:
  std::string label_;
  std::int64_t total_;
  bool quiet_;
  bool tty_;
  std::int64_t last_reported_ = -1;
  std::chrono::steady_clock::time_point start_;
};

// Appends one JSON object per line; flushed after every record so a crash
// loses nothing already reported. With keep_lines(), it also keeps the lines
// of this run in memory (for `train --plot` without --metrics).
class MetricsWriter {
 public:
  MetricsWriter() = default;
  // Opens `path`; "" disables. A new run empties the file. A run resumed
  // at step `resumed_at` appends, after dropping the records of later steps
  // (an interrupted run wrote them after its last checkpoint; this run
  // repeats those steps): the file is replaced atomically, every other line
  // is kept. Returns the number of records dropped.
  std::size_t open(const std::string& path, std::optional<std::int64_t> resumed_at);
  void keep_lines() { keep_ = true; }
  bool enabled() const { return out_.is_open(); }
  void write(const std::string& json_object);
  const std::string& kept() const { return kept_; }  // this run's lines, '\n'-terminated

 private:
  std::ofstream out_;
  std::string path_;
  bool keep_ = false;
  std::string kept_;
};

}  // namespace attograd
