#include <sstream>

#include <doctest/doctest.h>

#include "engine/error.hpp"
#include "viz/metrics.hpp"
#include "viz_check.hpp"

using namespace attograd;

namespace {

// The message of the FileError that parsing `text` throws ("" if none).
std::string parse_error(const std::string& text) {
  std::istringstream in(text);
  try {
    parse_metrics(in, "run", "runs/run.jsonl");
  } catch (const FileError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("metrics lines give training and evaluation records, ignoring unknown keys") {
  std::istringstream in(
      "{\"step\": 1, \"loss\": 5.5, \"lr\": 0.0001, \"tokens_per_s\": 900, \"epoch\": 0, \"note\": \"x\"}\n"
      "\n"
      "{\"step\": 2, \"eval_loss\": 5.0, \"accuracy\": 0.25}\r\n"
      "{\"step\": 3, \"skipped\": \"loss nan\", \"lr\": 0.0001}\n");
  MetricsRun run = parse_metrics(in, "base", "base.jsonl");
  CHECK(run.name == "base");
  REQUIRE(run.records.size() == 3);
  CHECK(run.records[0].step == 1);
  CHECK(run.records[0].loss == 5.5);
  CHECK(run.records[0].lr == 0.0001);
  CHECK(run.records[0].tokens_per_s == 900);
  CHECK_FALSE(run.records[0].eval_loss.has_value());
  CHECK(run.records[1].eval_loss == 5.0);
  CHECK(run.records[1].accuracy == 0.25);
  CHECK_FALSE(run.records[1].loss.has_value());
  CHECK_FALSE(run.records[2].loss.has_value());  // a skipped step has no loss
}

TEST_CASE("a null value (NaN or Inf written by JSON) is refused, not drawn as a gap") {
  const std::string message = parse_error("{\"step\": 1, \"loss\": 2}\n{\"step\": 2, \"loss\": null}\n");
  CHECK(message.find("[metrics] runs/run.jsonl:2: \"loss\" is null, a value that was not finite") == 0);
  CHECK(parse_error("{\"step\": 1, \"eval_loss\": null}\n").find("\"eval_loss\" is null") != std::string::npos);
}

TEST_CASE("a malformed metrics line gives an error naming the file and the line") {
  std::string good = "{\"step\": 1, \"loss\": 2}\n";
  std::string message = parse_error(good + good + "{\"step\": 3, \"loss\": 2.\n" + good);
  CHECK(message.find("[metrics] runs/run.jsonl:3:") == 0);
  CHECK(message.find("not valid JSON") != std::string::npos);
}

TEST_CASE("metrics lines that are not objects, lack a step or hold text for a number are errors") {
  CHECK(parse_error("[1, 2]\n").find("runs/run.jsonl:1: expected a JSON object") != std::string::npos);
  CHECK(parse_error("{\"loss\": 1}\n").find(":1: missing \"step\"") != std::string::npos);
  std::string message = parse_error("\n\n{\"step\": 1, \"lr\": \"fast\"}\n");
  CHECK(message.find(":3: \"lr\" must be a number, got \"fast\"") != std::string::npos);
}

TEST_CASE("reading a metrics file names the run after the file stem") {
  auto path = test::scratch_dir() / "small-run.jsonl";
  test::write_text(path, "{\"step\": 10, \"loss\": 3}\n{\"step\": 20, \"loss\": 2}\n");
  MetricsRun run = read_metrics(path);
  CHECK(run.name == "small-run");
  CHECK(run.records.size() == 2);
}

TEST_CASE("a missing metrics file is a FileError naming the path") {
  auto path = test::scratch_dir() / "no-such-run.jsonl";
  CHECK_THROWS_WITH_AS(read_metrics(path), doctest::Contains("no-such-run.jsonl"), FileError);
  CHECK_THROWS_AS(read_metrics(test::scratch_dir()), FileError);
}
