// Training curves from the command line: `attograd plot` and `train --plot`
// draw one vertex per metrics record, as SVG (XML) or PNG.
#include <doctest/doctest.h>

#ifdef ATTOGRAD_TEST_CAIRO
#include <cairo.h>
#endif

#include "cli_check.hpp"

namespace attograd::test {
namespace {

std::size_t count_with(const std::vector<nlohmann::json>& records, const char* key) {
  std::size_t n = 0;
  for (const auto& r : records) n += r.contains(key);
  return n;
}

TEST_CASE("train --plot draws one vertex per metrics record, with or without a metrics file") {
  const std::string metrics = scratch("run_a.jsonl"), with_file = scratch("with_file.svg");
  train_tiny("copy", {"--steps", "12", "--eval-every", "4", "--metrics", metrics, "--plot", with_file});
  const auto records = metrics_records(metrics);
  REQUIRE(count_with(records, "loss") == 12);
  REQUIRE(count_with(records, "eval_loss") == 3);
  const nlohmann::json a = svg_file_summary(with_file);
  CHECK(a["series"]["run_a/loss"] == 12);
  CHECK(a["series"]["run_a/eval_loss"] == 3);
  CHECK(a["series"]["run_a/lr"] == 12);
  CHECK(a["series"]["run_a/tokens_per_s"] == 12);
  CHECK(a["series"]["run_a/accuracy"] == 3);

  const std::string in_memory = scratch("in_memory.svg");
  train_tiny("copy", {"--steps", "7", "--eval-every", "5", "--plot", in_memory});
  const nlohmann::json b = svg_file_summary(in_memory);
  CHECK(b["series"]["copy/loss"] == 7);
  CHECK(b["series"]["copy/eval_loss"] == 2);
}

TEST_CASE("plot draws several metrics files as runs of one figure") {
  const std::string first = scratch("first.jsonl"), second = scratch("second.jsonl");
  train_tiny("copy", {"--steps", "6", "--eval-every", "3", "--metrics", first});
  train_tiny("copy", {"--steps", "4", "--eval-every", "2", "--seed", "2", "--metrics", second});
  const std::string out = scratch("compare.svg");
  const CliResult r = run_attograd({"plot", first, second, "--out", out, "--log-loss", "--title", "two runs"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json s = svg_file_summary(out);
  CHECK(s["series"]["first/loss"] == 6);
  CHECK(s["series"]["second/loss"] == 4);
  CHECK(s["series"]["first/eval_loss"] == 2);
  CHECK(s["series"]["second/eval_loss"] == 2);
  std::vector<std::string> metrics;
  for (const auto& p : s["panels"]) metrics.push_back(p["metric"]);
  CHECK(metrics == std::vector<std::string>{"loss", "lr", "tokens_per_s", "accuracy"});
}

TEST_CASE("plot names a malformed metrics line") {
  const std::string bad = scratch("bad.jsonl");
  write_file(bad, "{\"step\": 1, \"loss\": 2.0}\nnot json\n");
  const CliResult r = run_attograd({"plot", bad, "--out", scratch("bad.svg")});
  CHECK(r.exit_code == 1);
  CHECK(r.output.find(bad + ":2") != std::string::npos);
}

#ifdef ATTOGRAD_TEST_CAIRO
TEST_CASE("plot writes a PNG that decodes") {
  const std::string metrics = scratch("png_run.jsonl");
  train_tiny("copy", {"--steps", "3", "--metrics", metrics});
  const std::string out = scratch("curves.png");
  const CliResult r = run_attograd({"plot", metrics, "--out", out});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  cairo_surface_t* image = cairo_image_surface_create_from_png(out.c_str());
  CHECK(cairo_surface_status(image) == CAIRO_STATUS_SUCCESS);
  CHECK(cairo_image_surface_get_width(image) > 100);
  CHECK(cairo_image_surface_get_height(image) > 100);
  cairo_surface_destroy(image);
}
#endif

}  // namespace
}  // namespace attograd::test
