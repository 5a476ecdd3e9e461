// `attograd profile` end to end: a tiny copy model's measured steps give the
// four tables, a Chrome trace that parses as JSON with complete events, and a
// DOT file Graphviz renders.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli_check.hpp"

namespace attograd::test {
namespace {

// `profile copy` on the tiny model, 1 warm-up and 2 measured steps on 2 threads.
CliResult profile_tiny(const std::vector<std::string>& more) {
  std::vector<std::string> args{"profile", "copy", "--layers", "1", "--d-model", "32", "--heads", "2", "--d-ff", "64",
                                "--batch", "4", "--steps", "2", "--warmup-steps", "1", "--threads", "2"};
  args.insert(args.end(), more.begin(), more.end());
  CliResult r = run_attograd(args);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  return r;
}

TEST_CASE("profile prints the per-op, per-scope, memory and parallelism tables and writes a trace and a DOT file") {
  const std::string trace = scratch("profile_trace.json"), dot = scratch("profile_graph.dot");
  const CliResult r = profile_tiny({"--trace", trace, "--dot", dot});
  INFO(r.output);
  for (const char* heading : {"== time per op (forward and backward separately) ==", "== time per scope ==",
                              "== memory ==", "== parallelism =="})
    CHECK_MESSAGE(contains(r.output, heading), heading);
  CHECK(contains(r.output, "GFLOP/s"));
  CHECK(contains(r.output, "matmul"));
  CHECK(contains(r.output, "optimizer.step"));
  CHECK(contains(r.output, "encoder.layers.0"));
  CHECK(contains(r.output, "critical path"));
  CHECK(contains(r.output, "allocated per node"));
  CHECK(contains(r.output, "trace: " + trace));
  CHECK(contains(r.output, "graph: " + dot));

  const nlohmann::json j = nlohmann::json::parse(read_file(trace));
  REQUIRE(j.at("traceEvents").is_array());
  std::size_t complete = 0;
  std::set<std::string> names;
  for (const nlohmann::json& e : j["traceEvents"]) {
    if (e.at("ph") != "X") continue;
    ++complete;
    CHECK(e.at("name").is_string());
    CHECK(e.at("ts").is_number());
    CHECK(e.at("dur").get<double>() >= 0);
    CHECK(e.at("pid").is_number_integer());
    CHECK(e.at("tid").is_number_integer());
    CHECK(e.at("args").is_object());
    names.insert(e.at("name").get<std::string>());
  }
  CHECK(complete > 100);  // every node of two forward and backward passes
  CHECK(names.count("matmul") == 1);
  CHECK(names.count("optimizer.step") == 1);

  const std::string text = read_file(dot);
  CHECK(text.rfind("digraph", 0) == 0);
  CHECK(contains(text, "subgraph \"cluster_"));
  // ATTOGRAD_DOT is set by meson when Graphviz is installed.
  const char* dot_program = std::getenv("ATTOGRAD_DOT");
  if (dot_program == nullptr || *dot_program == '\0') {
    MESSAGE("Graphviz 'dot' not found: rendering skipped");
    return;
  }
  const std::string svg = scratch("profile_graph.svg");
  CHECK(std::system(fmt::format("'{}' -Tsvg '{}' -o '{}'", dot_program, dot, svg).c_str()) == 0);
  CHECK(std::filesystem::file_size(svg) > 1000);
  CHECK(contains(read_file(svg), "<svg"));
}

}  // namespace
}  // namespace attograd::test
