// Parsing is line by line so an error can name its line; a line is parsed
// with nlohmann's non-throwing parser and checked field by field.
#include "viz/metrics.hpp"

#include <algorithm>
#include <fstream>
#include <istream>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/error.hpp"

namespace attograd {
namespace {

bool is_blank(const std::string& line) {
  return line.find_first_not_of(" \t\r\n") == std::string::npos;
}

// The numeric value of `key`, nothing if absent; throws the message
// (without location) if the value is null (how JSON writers store NaN and
// Inf: the run diverged there) or of another type.
std::optional<double> number_field(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return std::nullopt;
  if (it->is_null())
    throw std::invalid_argument(fmt::format("\"{}\" is null, a value that was not finite (NaN or Inf: the run "
                                            "diverged here); plot draws only finite values", key));
  if (!it->is_number())
    throw std::invalid_argument(fmt::format("\"{}\" must be a number, got {}", key, it->dump()));
  return it->get<double>();
}

MetricRecord parse_record(const std::string& line) {
  nlohmann::json object = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded()) throw std::invalid_argument("not valid JSON");
  if (!object.is_object()) throw std::invalid_argument("expected a JSON object {...}");
  MetricRecord r;
  std::optional<double> step = number_field(object, "step");
  if (!step) throw std::invalid_argument("missing \"step\"");
  if (!(*step >= 0 && *step <= 9007199254740992.0))  // 2^53: every step count is exact below it
    throw std::invalid_argument(fmt::format("\"step\" must be a count between 0 and 2^53, got {}", *step));
  r.step = *step;
  r.loss = number_field(object, "loss");
  r.lr = number_field(object, "lr");
  r.tokens_per_s = number_field(object, "tokens_per_s");
  r.eval_loss = number_field(object, "eval_loss");
  r.accuracy = number_field(object, "accuracy");
  return r;
}

using Field = std::optional<double> MetricRecord::*;
constexpr Field kFields[] = {&MetricRecord::loss, &MetricRecord::lr, &MetricRecord::tokens_per_s,
                             &MetricRecord::eval_loss, &MetricRecord::accuracy};

// A later value of a metric at a step replaces an earlier one (an earlier
// attograd appended, on resume, steps the file already had); records left
// without a value are dropped.
void keep_last_per_step(std::vector<MetricRecord>& records) {
  std::set<std::pair<double, std::size_t>> seen;  // (step, index in kFields)
  for (auto r = records.rbegin(); r != records.rend(); ++r)
    for (std::size_t i = 0; i < std::size(kFields); ++i)
      if ((*r).*kFields[i] && !seen.insert({r->step, i}).second) ((*r).*kFields[i]).reset();
  std::erase_if(records, [](const MetricRecord& r) {
    return std::none_of(std::begin(kFields), std::end(kFields), [&](Field f) { return (r.*f).has_value(); });
  });
}

}  // namespace

std::optional<double> metrics_line_step(const std::string& line) {
  try {
    return parse_record(line).step;
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
}

MetricsRun parse_metrics(std::istream& in, const std::string& name, const std::string& source) {
  MetricsRun run{name, {}};
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (is_blank(line)) continue;
    try {
      run.records.push_back(parse_record(line));
    } catch (const std::invalid_argument& e) {
      std::string excerpt = line.size() > 60 ? line.substr(0, 57) + "..." : line;
      throw FileError(fmt::format("[metrics] {}:{}: {} in line: {}", source, number, e.what(), excerpt));
    }
  }
  if (in.bad()) throw FileError(fmt::format("[metrics] error while reading {}", source));
  keep_last_per_step(run.records);
  return run;
}

MetricsRun read_metrics(const std::filesystem::path& path) {
  std::error_code ec;  // status() never opens the file: a FIFO must not block the read
  const auto type = std::filesystem::status(path, ec).type();
  if (!ec && type != std::filesystem::file_type::regular && type != std::filesystem::file_type::directory)
    throw FileError(fmt::format("[metrics] '{}': not a regular file", path.string()));
  std::ifstream in(path);
  if (!in || std::filesystem::is_directory(path))
    throw FileError(fmt::format("[metrics] cannot open {}: no such readable file", path.string()));
  return parse_metrics(in, path.stem().string(), path.string());
}

}  // namespace attograd
