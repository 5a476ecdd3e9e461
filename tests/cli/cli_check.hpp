// Helpers for the command-line tests: run build/cli/attograd as a child
// process, the small model settings every test trains with, a copy model
// trained once per test binary run, and readers for what the program writes
// (metrics, checkpoints, SVG via tests/viz/svg_query.py).
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace attograd::test {

struct CliResult {
  int exit_code = -1;   // -1 when the program died of a signal
  int signal = 0;
  std::string output;   // stdout and stderr, interleaved
};

// Runs the attograd program with `args` (no shell involved).
CliResult run_attograd(const std::vector<std::string>& args);

// The attograd program running in the background (output discarded) until
// this object is destroyed, which kills it (SIGKILL) and waits for it.
class BackgroundAttograd {
 public:
  explicit BackgroundAttograd(const std::vector<std::string>& args);
  ~BackgroundAttograd();
  BackgroundAttograd(const BackgroundAttograd&) = delete;
  BackgroundAttograd& operator=(const BackgroundAttograd&) = delete;
  int pid() const { return pid_; }
  bool running() const;  // false once it has exited

 private:
  int pid_ = -1;
};

// A tiny model: 1 layer, D 32, 2 heads, F 64, one thread, no progress bar.
std::vector<std::string> tiny_model();
// `train TASK` with the tiny model plus `more`; fails the test unless it exits 0.
CliResult train_tiny(const std::string& task, const std::vector<std::string>& more);

// A fresh directory for this test binary run, removed at exit.
const std::string& scratch(const std::string& name);

// The checkpoint of a tiny copy model trained (once per binary run) until
// greedy decoding copies its input.
const std::string& trained_copy_model();

// Training records of a metrics file: step -> loss.
std::map<long, double> train_losses(const std::string& metrics_path);
// Every record of a metrics file.
std::vector<nlohmann::json> metrics_records(const std::string& metrics_path);

// tests/viz/svg_query.py's summary of an SVG file (throws if not XML).
nlohmann::json svg_file_summary(const std::string& path);

std::string read_file(const std::string& path);
std::string joined(const std::vector<std::string>& args);  // for messages
bool contains(const std::string& text, const std::string& part);
void write_file(const std::string& path, const std::string& text);

}  // namespace attograd::test
