// Smaller hostile inputs of issue 18 (items 6 and 7) through the program:
// NaN flags, damaged optimizer state on resume, absurd metrics steps.
#include <doctest/doctest.h>

#include "cli_check.hpp"
#include "io/safetensors.hpp"

namespace attograd::test {

TEST_CASE("NaN and Inf values of floating flags are refused, naming the flag") {
  const std::string ckpt = trained_copy_model();
  const CliResult decode = run_attograd({"decode", "copy", "--load", ckpt, "--input", "1 2", "--length-penalty", "nan"});
  CHECK(decode.exit_code != 0);
  CHECK(contains(decode.output, "--length-penalty: nan is not a finite number"));
  const CliResult sample = run_attograd({"sample", "--load", ckpt, "--temperature", "inf"});
  CHECK(sample.exit_code != 0);
  CHECK(contains(sample.output, "--temperature: inf is not a finite number"));
}

TEST_CASE("train --resume refuses a checkpoint whose exp_avg_sq is missing") {
  SafetensorsFile f = load_safetensors(trained_copy_model());
  std::erase_if(f.tensors, [](const auto& t) { return t.first == "optimizer.generator.bias.exp_avg_sq"; });
  const std::string path = scratch("no_exp_avg_sq.safetensors");
  save_safetensors(path, f.tensors, f.metadata);
  const CliResult r = run_attograd({"train", "copy", "--resume", path, "--steps", "500", "--quiet", "--threads", "1"});
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.output, "'optimizer.generator.bias.exp_avg_sq' is missing (the run is at step 400)"));
}

TEST_CASE("plot refuses a step of 1e308 instead of computing with it") {
  const std::string metrics = scratch("huge_step.jsonl");
  write_file(metrics, "{\"step\": 1, \"loss\": 2}\n{\"step\": 1e308, \"loss\": 1}\n");
  const CliResult r = run_attograd({"plot", metrics, "--out", scratch("huge_step.svg")});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.output, "huge_step.jsonl:2: \"step\" must be a count between 0 and 2^53"));
}

}  // namespace attograd::test
