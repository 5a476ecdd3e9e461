// Reading the metrics files that training writes: JSON lines, one object per
// line. Training records carry "step", "loss", "lr", "tokens_per_s";
// evaluation records carry "step", "eval_loss", "accuracy". Every field but
// "step" is optional, unknown keys are ignored, blank lines are skipped.
// When a metric appears twice for one step, the later value is kept (files
// that an earlier attograd appended to on resume could hold a step twice). A
// null value is refused: nlohmann writes NaN and Inf as null, and a curve
// that silently lost its diverged points would mislead (since issue 18,
// training stops or skips the step instead of writing one).
//
//   {"step": 100, "loss": 4.21, "lr": 0.0003, "tokens_per_s": 5120.5}
//   {"step": 100, "eval_loss": 4.40, "accuracy": 0.31}
//
//   MetricsRun run = read_metrics("runs/base.jsonl");   // run.name == "base"
#pragma once

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace attograd {

// One line of a metrics file.
struct MetricRecord {
  double step = 0;
  std::optional<double> loss;
  std::optional<double> lr;
  std::optional<double> tokens_per_s;
  std::optional<double> eval_loss;
  std::optional<double> accuracy;
};

// The records of one file, in file order, named after the file's stem.
struct MetricsRun {
  std::string name;
  std::vector<MetricRecord> records;
};

// Reads `path`. Throws FileError "[metrics] cannot open <path>" for a missing
// or unreadable file, and "[metrics] <path>:<line>: <what is wrong>" for a
// line that is not a JSON object, lacks a numeric "step", or has a known key
// whose value is not a number (null included).
MetricsRun read_metrics(const std::filesystem::path& path);

// The same from a stream; `source` names it in error messages.
MetricsRun parse_metrics(std::istream& in, const std::string& name, const std::string& source);

// The "step" of one metrics line, or nothing for a line that is not a valid record.
std::optional<double> metrics_line_step(const std::string& line);

}  // namespace attograd
