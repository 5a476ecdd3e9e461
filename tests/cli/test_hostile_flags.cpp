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
  for (const char* flag : {"--lr", "--dropout", "--clip", "--label-smoothing", "--beta1", "--weight-decay"}) {
    const CliResult train = run_attograd({"train", "copy", "--steps", "1", "--quiet", flag, "nan"});
    CHECK(train.exit_code != 0);
    CHECK(contains(train.output, std::string(flag) + ": nan is not a finite number"));
  }
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

TEST_CASE("eval --data refuses an example longer than the model's positions, naming the line") {
  const std::string data = scratch("too_long.tsv");
  std::string tokens;
  for (int i = 0; i < 2000; ++i) tokens += "1 ";
  write_file(data, "1 2 3\t1 2 3\n" + tokens + "\t1 2\n");
  const CliResult r = run_attograd({"eval", "copy", "--load", trained_copy_model(), "--data", data, "--threads", "1"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.output, data + ":2: the source has 2000 tokens; the model's positions end at 1024"));
}

TEST_CASE("messages quote an excerpt of a 30 KB input, not all of it") {
  const std::string huge(30000, '7');
  const std::string data = scratch("huge_token.tsv");
  write_file(data, huge + "\t1 2\n");
  const CliResult eval = run_attograd({"eval", "copy", "--load", trained_copy_model(), "--data", data});
  CHECK(eval.exit_code == 1);
  CHECK(contains(eval.output, data + ":1: [copy] token '777"));
  CHECK(eval.output.size() < 1000);
  const CliResult flag = run_attograd({"train", "copy", "--lr", "1" + huge + "x"});
  CHECK(flag.exit_code != 0);
  CHECK(contains(flag.output, "--lr"));
  CHECK(flag.output.size() < 1000);
  SafetensorsFile f = load_safetensors(trained_copy_model());
  f.metadata["model.d_ff"] = huge + "x";
  const std::string ckpt = scratch("huge_entry.safetensors");
  save_safetensors(ckpt, f.tensors, f.metadata);
  const CliResult load = run_attograd({"decode", "copy", "--load", ckpt, "--input", "1 2"});
  CHECK(load.exit_code == 1);
  CHECK(contains(load.output, "entry 'model.d_ff' = '777"));
  CHECK(load.output.size() < 1000);
}

TEST_CASE("a checkpoint cannot give a resumed run a setting its flag refuses, NaN included") {
  SafetensorsFile f = load_safetensors(trained_copy_model());
  f.metadata["train.lr"] = "nan";
  const std::string path = scratch("nan_lr.safetensors");
  save_safetensors(path, f.tensors, f.metadata);
  const CliResult r = run_attograd({"train", "copy", "--resume", path, "--steps", "500", "--quiet", "--threads", "1"});
  CHECK(r.exit_code == 1);
  CHECK(contains(r.output, "'train.lr' = nan is outside 0..1000000, the range of --lr"));
}

}  // namespace attograd::test
