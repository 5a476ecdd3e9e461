// libFuzzer target: a checkpoint's metadata, one "key=value" entry a line
// (scripts/fuzz.sh writes a real checkpoint's metadata so), checked as every
// loader checks it (check_run_metadata) and read as --resume reads it
// (training_from_metadata). Any input must give a configuration or an
// Error; a configuration read must survive the metadata round trip
// (to_metadata, then reading it back) unchanged.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "app/checkpoint_check.hpp"
#include "app/model_size.hpp"
#include "engine/error.hpp"

namespace {

std::map<std::string, std::string> entries(std::string_view text) {
  std::map<std::string, std::string> m;
  while (!text.empty()) {
    const std::size_t end = std::min(text.find('\n'), text.size());
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(std::min(end + 1, text.size()));
    const std::size_t eq = line.find('=');
    if (eq != std::string_view::npos) m[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace attograd;
  const auto metadata = entries({reinterpret_cast<const char*>(data), size});
  try {
    const RunConfig config = check_run_metadata(metadata, "fuzz");
    expected_parameters(config);
    if (to_metadata(from_metadata(to_metadata(config), "round trip")) != to_metadata(config)) std::abort();
  } catch (const Error&) {
  }
  try {
    const RunConfig run = training_from_metadata(metadata, "fuzz");
    auto written = to_metadata(run);
    written["seed"] = std::to_string(run.seed);  // the checkpoint's own entry
    if (to_metadata(training_from_metadata(written, "round trip")) != to_metadata(run)) std::abort();
  } catch (const Error&) {
  }
  return 0;
}
