// libFuzzer target: a metrics file as `attograd plot` reads and draws it
// (parse_metrics, plot_curves with a linear and a log loss axis). Any input
// must give a picture or an Error, never a crash or a sanitizer report (a
// "step" of 1e308 once negated INT_MIN in the axis code).
#include <cstdint>
#include <sstream>
#include <string>

#include "engine/error.hpp"
#include "viz/curves.hpp"
#include "viz/metrics.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace attograd;
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    const MetricsRun run = parse_metrics(in, "fuzz", "fuzz.jsonl");
    plot_curves({run});
    plot_curves({run, run}, {.log_loss = true, .title = "fuzz"});
  } catch (const Error&) {
  }
  return 0;
}
