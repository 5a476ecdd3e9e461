// Checkpoints through the command line: resuming is exact (bit-identical
// parameters and optimizer state, identical per-step losses), and a bad
// checkpoint is refused with a message naming the file and a non-zero exit,
// never a crash.
#include <doctest/doctest.h>

#include <algorithm>

#include "cli_check.hpp"
#include "io/safetensors.hpp"

namespace attograd::test {
namespace {

// Trains N steps with `options`, saves, and resumes for M more repeating
// `on_resume` (tiny_model() when `repeat_model`); and N + M steps in one run.
void check_resume_is_exact(const std::string& name, const std::vector<std::string>& options,
                           const std::vector<std::string>& on_resume, bool repeat_model = true) {
  const std::string split = scratch(name + "_split.safetensors"), whole = scratch(name + "_whole.safetensors");
  const std::string split_metrics = scratch(name + "_split.jsonl"), whole_metrics = scratch(name + "_whole.jsonl");
  auto with = [&](std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  train_tiny("copy", with({"--steps", "5", "--save", split, "--metrics", split_metrics}, options));
  std::vector<std::string> resume{"train", "copy", "--steps", "9", "--resume", split, "--save", split,
                                  "--metrics", split_metrics, "--threads", "2", "--quiet"};
  if (repeat_model)
    for (const std::string flag : {"--layers", "--d-model", "--heads", "--d-ff"}) {  // tiny_model()'s, threads aside
      const auto tiny = tiny_model();
      const auto it = std::find(tiny.begin(), tiny.end(), flag);
      resume.insert(resume.end(), it, it + 2);
    }
  const CliResult resumed = run_attograd(with(resume, on_resume));
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  train_tiny("copy", with({"--steps", "9", "--save", whole, "--metrics", whole_metrics}, options));

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
  const std::vector<std::string> options{"--dropout", "0", "--eval-every", "3"};
  check_resume_is_exact("plain", options, options);
}

TEST_CASE("resuming a bf16 mixed-precision run is exact") {
  const std::vector<std::string> options{"--precision", "bf16", "--dropout", "0.1", "--eval-every", "3"};
  check_resume_is_exact("bf16", options, {"--dropout", "0.1", "--eval-every", "3"});
}

TEST_CASE("resuming is exact with gradient accumulation and dropout") {
  const std::vector<std::string> options{"--dropout", "0.1", "--accumulate", "2", "--eval-every", "3", "--clip", "1"};
  check_resume_is_exact("accumulate", options, options);
}

// Every setting away from its default: a resume that took any of them from
// the command line (seed, optimizer, schedule, ...) would train differently.
const std::vector<std::string> kUnusual{
    "--seed", "7", "--dropout", "0.2", "--label-smoothing", "0.1", "--batch", "12", "--norm", "post",
    "--activation", "gelu", "--optimizer", "adamw", "--beta1", "0.8", "--beta2", "0.95", "--eps", "1e-7",
    "--weight-decay", "0.01", "--lr-schedule", "inverse-sqrt", "--lr", "0.003", "--warmup", "3",
    "--accumulate", "2", "--clip", "0.5", "--eval-every", "2"};

TEST_CASE("resuming without repeating any training flag continues the checkpoint's run exactly") {
  check_resume_is_exact("unusual", kUnusual, {}, /*repeat_model=*/false);
}

TEST_CASE("resuming accepts training flags repeated with the checkpoint's values") {
  check_resume_is_exact("repeated", kUnusual, kUnusual);
}

TEST_CASE("resuming refuses a training flag that conflicts with the checkpoint, naming both values") {
  const std::string ckpt = scratch("conflict.safetensors");
  train_tiny("copy", {"--steps", "2", "--seed", "7", "--optimizer", "adamw", "--lr", "0.5", "--save", ckpt});
  struct Case {
    std::vector<std::string> flags;
    std::string message;
  };
  const std::vector<Case> cases{
      {{"--seed", "8"}, "--seed 8 conflicts with the checkpoint '" + ckpt + "', which was trained with --seed 7"},
      {{"--optimizer", "sgd"}, "--optimizer sgd conflicts"},
      {{"--lr", "0.25"}, "--lr 0.25 conflicts with the checkpoint '" + ckpt + "', which was trained with --lr 0.5"},
      {{"--d-model", "64", "--heads", "2"}, "--d-model 64 conflicts"},
      {{"--accumulate", "3"}, "trained with --accumulate 1"},
      {{"--beta2", "0.9"}, "trained with --beta2 0.98"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args{"train", "copy", "--steps", "4", "--resume", ckpt, "--quiet", "--threads", "1"};
    args.insert(args.end(), c.flags.begin(), c.flags.end());
    const CliResult r = run_attograd(args);
    INFO("attograd " << joined(args));
    INFO(r.output);
    CHECK(r.exit_code == 1);
    CHECK(contains(r.output, c.message));
    CHECK_FALSE(contains(r.output, "final training loss"));  // refused before any step
  }
}

TEST_CASE("a lm run remembers its corpus: resuming without --data trains on the same text") {
  const std::string corpus = scratch("corpus.txt"), ckpt = scratch("lm_resume.safetensors");
  std::string text;
  for (int i = 0; i < 40; ++i) text += "the quick brown fox jumps over the lazy dog " + std::to_string(i) + "\n";
  write_file(corpus, text);
  train_tiny("lm", {"--steps", "2", "--batch", "2", "--data", corpus, "--save", ckpt});
  train_tiny("lm", {"--steps", "3", "--resume", ckpt, "--save", ckpt});
  write_file(corpus, text + "more text\n");
  const CliResult r = run_attograd({"train", "lm", "--steps", "4", "--resume", ckpt, "--quiet", "--threads", "1"});
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.output, "the corpus '" + corpus + "' has changed"));
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

  // A checkpoint from before the training configuration was saved.
  SafetensorsFile old = load_safetensors(good);
  for (auto it = old.metadata.begin(); it != old.metadata.end();)
    it = it->first.starts_with("train.") && it->first != "train.label_smoothing" && it->first != "train.batch" &&
                 it->first != "train.steps"
             ? old.metadata.erase(it)
             : std::next(it);
  const std::string before = scratch("before_train_config.safetensors");
  save_safetensors(before, old.tensors, old.metadata);

  struct Case {
    std::vector<std::string> args;
    std::string named;
  };
  const std::vector<Case> cases{
      {{"decode", "copy", "--load", truncated, "--input", "1 2 3"}, truncated},
      {{"train", "copy", "--resume", before, "--steps", "500"}, "can be evaluated and decoded, not resumed exactly"},
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
  const CliResult decoded = run_attograd({"decode", "copy", "--load", before, "--input", "1 2 3 4", "--threads", "1"});
  INFO(decoded.output);
  CHECK(decoded.exit_code == 0);  // older checkpoints still serve eval, decode and attention
}

TEST_CASE("adamw without --weight-decay takes PyTorch's default 0.01; adam and sgd take 0") {
  for (const auto& [optimizer, expected] : std::vector<std::pair<std::string, std::string>>{
           {"adamw", "0.01"}, {"adam", "0"}, {"sgd", "0"}}) {
    CAPTURE(optimizer);
    const std::string ckpt = scratch("wd_" + optimizer + ".safetensors");
    REQUIRE(train_tiny("copy", {"--steps", "1", "--optimizer", optimizer, "--save", ckpt}).exit_code == 0);
    CHECK(load_safetensors(ckpt).metadata.at("train.weight_decay") == expected);
  }
  const std::string given = scratch("wd_given.safetensors");
  REQUIRE(train_tiny("copy", {"--steps", "1", "--optimizer", "adamw", "--weight-decay", "0.2", "--save", given})
              .exit_code == 0);
  CHECK(load_safetensors(given).metadata.at("train.weight_decay") == "0.2");
}

}  // namespace
}  // namespace attograd::test
