// Checkpoints through the command line: resuming is exact (bit-identical
// parameters and optimizer state, identical per-step losses), and a bad
// checkpoint is refused with a message naming the file and a non-zero exit,
// never a crash.
#include <doctest/doctest.h>

#include "cli_check.hpp"
#include "engine/safetensors.hpp"

namespace attograd::test {
namespace {

// Trains N steps, saves, resumes for M more; and N + M steps in one run.
void check_resume_is_exact(const std::string& name, const std::vector<std::string>& options) {
  const std::string split = scratch(name + "_split.safetensors"), whole = scratch(name + "_whole.safetensors");
  const std::string split_metrics = scratch(name + "_split.jsonl"), whole_metrics = scratch(name + "_whole.jsonl");
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), options.begin(), options.end());
    return args;
  };
  train_tiny("copy", with({"--steps", "5", "--save", split, "--metrics", split_metrics}));
  train_tiny("copy", with({"--steps", "9", "--resume", split, "--save", split, "--metrics", split_metrics}));
  train_tiny("copy", with({"--steps", "9", "--save", whole, "--metrics", whole_metrics}));

  const SafetensorsFile a = load_safetensors(split), b = load_safetensors(whole);
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (std::size_t i = 0; i < a.tensors.size(); ++i) {
    CAPTURE(a.tensors[i].first);
    CHECK(a.tensors[i].first == b.tensors[i].first);
    CHECK(a.tensors[i].second.bit_equal(b.tensors[i].second));
  }
  CHECK(a.metadata.at("step") == "9");
  CHECK(a.metadata == b.metadata);
  const auto split_losses = train_losses(split_metrics), whole_losses = train_losses(whole_metrics);
  CHECK(split_losses.size() == 9);
  CHECK(split_losses == whole_losses);  // doubles written shortest-exact: equal means bit-equal
}

TEST_CASE("resuming from a checkpoint gives the parameters and losses of an uninterrupted run") {
  check_resume_is_exact("plain", {"--dropout", "0", "--eval-every", "3"});
}

TEST_CASE("resuming is exact with gradient accumulation and dropout") {
  check_resume_is_exact("accumulate", {"--dropout", "0.1", "--accumulate", "2", "--eval-every", "3", "--clip", "1"});
}

TEST_CASE("bad checkpoints are refused with a message naming the file and a non-zero exit") {
  const std::string& good = trained_copy_model();
  const std::string bytes = read_file(good);
  const std::string truncated = scratch("truncated.safetensors"), garbage = scratch("garbage.safetensors");
  write_file(truncated, bytes.substr(0, bytes.size() / 2));
  write_file(garbage, std::string(64, '\x7f') + "this is not a checkpoint");

  const std::string numbers = scratch("numbers.safetensors");
  train_tiny("numbers", {"--steps", "1", "--save", numbers});
  const std::string lm = scratch("lm.safetensors");
  train_tiny("lm", {"--steps", "1", "--batch", "2", "--save", lm});

  // A copy checkpoint whose metadata claims D = 16 (its tensors are D = 32).
  SafetensorsFile hacked = load_safetensors(good);
  hacked.metadata["model.d_model"] = "16";
  const std::string reshaped = scratch("reshaped.safetensors");
  save_safetensors(reshaped, hacked.tensors, hacked.metadata);

  struct Case {
    std::vector<std::string> args;
    std::string named;
  };
  const std::vector<Case> cases{
      {{"decode", "copy", "--load", truncated, "--input", "1 2 3"}, truncated},
      {{"eval", "copy", "--load", garbage}, garbage},
      {{"decode", "copy", "--load", numbers, "--input", "1 2 3"}, "task 'numbers', not 'copy'"},
      {{"attention", "numbers", "--load", good, "--input", "12", "--out", scratch("x.svg")}, "task 'copy', not 'numbers'"},
      {{"decode", "copy", "--load", lm, "--input", "1 2 3"}, "language model"},
      {{"sample", "--load", good}, "not a language model"},
      {{"train", "numbers", "--resume", good, "--steps", "2"}, "task 'copy', not 'numbers'"},
      {{"train", "copy", "--resume", truncated, "--steps", "2"}, truncated},
      {{"decode", "copy", "--load", reshaped, "--input", "1 2 3"}, "has shape"},
      {{"eval", "copy", "--load", reshaped}, reshaped},
  };
  for (const Case& c : cases) {
    const CliResult r = run_attograd(c.args);
    INFO("attograd " << joined(c.args));
    INFO(r.output);
    CHECK(r.signal == 0);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.output, c.named));
    CHECK(contains(r.output, "attograd: error:"));
  }
}

}  // namespace
}  // namespace attograd::test
