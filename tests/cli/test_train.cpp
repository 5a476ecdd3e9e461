// Training from the command line: a tiny model's loss falls on every task
// within a few dozen steps; the metrics file holds one record per step and
// per evaluation, with the fields `attograd plot` reads.
#include <doctest/doctest.h>

#include <cmath>
#include <numeric>

#include "cli_check.hpp"

namespace attograd::test {
namespace {

double mean(std::vector<double>::const_iterator begin, std::vector<double>::const_iterator end) {
  return std::accumulate(begin, end, 0.0) / static_cast<double>(end - begin);
}

TEST_CASE("a tiny model's training loss falls on the copy, numbers and lm tasks") {
  for (const char* task : {"copy", "numbers", "lm"}) {
    CAPTURE(task);
    const std::string metrics = scratch(std::string("falls_") + task + ".jsonl");
    train_tiny(task, {"--steps", "40", "--lr-schedule", "constant", "--lr", "0.005", "--batch", "16", "--eval-every",
                      "40", "--metrics", metrics});
    std::vector<double> losses;
    for (const auto& [step, loss] : train_losses(metrics)) losses.push_back(loss);
    REQUIRE(losses.size() == 40);
    const double first = mean(losses.begin(), losses.begin() + 3), last = mean(losses.end() - 3, losses.end());
    CAPTURE(first);
    CAPTURE(last);
    CHECK(last < 0.8 * first);
  }
}

TEST_CASE("sample continues a prompt with the requested number of characters, the same for the same seed") {
  const std::string ckpt = scratch("sample_lm.safetensors");
  const CliResult trained = train_tiny("lm", {"--steps", "20", "--batch", "8", "--save", ckpt});
  REQUIRE(trained.exit_code == 0);
  const std::vector<std::string> args = {"sample", "--load", ckpt, "--prompt", "the ", "--length", "40",
                                         "--seed", "3", "--threads", "1"};
  const CliResult a = run_attograd(args), b = run_attograd(args);
  CAPTURE(a.output);
  REQUIRE(a.exit_code == 0);
  CHECK(a.output == b.output);  // counter-based sampling: a pure function of (model, prompt, seed)
  const auto at = a.output.find("the ");
  REQUIRE(at != std::string::npos);
  CHECK(a.output.size() >= at + 4 + 40);
  std::vector<std::string> other = args;
  other[8] = "4";  // another seed
  CHECK(run_attograd(other).output != a.output);
}

TEST_CASE("the metrics file holds a training record per step and an evaluation record per evaluation") {
  const std::string metrics = scratch("records.jsonl");
  const CliResult r = train_tiny("copy", {"--steps", "6", "--eval-every", "3", "--metrics", metrics});
  const auto records = metrics_records(metrics);
  REQUIRE(records.size() == 8);
  for (const auto& key : {"step", "loss", "lr", "tokens_per_s"}) CHECK(records[0].contains(key));
  CHECK(records[3]["step"] == 3);
  CHECK(records[3].contains("eval_loss"));
  CHECK(records[3].contains("accuracy"));
  CHECK_FALSE(records[3].contains("exact_match"));  // only the final evaluation decodes
  CHECK(records[7]["step"] == 6);
  CHECK(records[7]["exact_match"].get<double>() >= 0.0);
  CHECK(r.output.find("exact match (greedy decoding of held-out examples)") != std::string::npos);
  CHECK(r.output.find("input:") != std::string::npos);
}

TEST_CASE("a trained tiny copy model copies every held-out example exactly") {
  const CliResult r = run_attograd({"eval", "copy", "--load", trained_copy_model(), "--batches", "4", "--threads", "1"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("exact match (greedy decoding) 100.00%") != std::string::npos);
}

TEST_CASE("--check-numerics lets a healthy model train to the end and stops a diverging one naming the node") {
  const CliResult healthy = train_tiny("copy", {"--batch", "4", "--steps", "2", "--check-numerics"});
  CHECK(contains(healthy.output, "trained 2 steps"));
  CHECK(contains(healthy.output, "evaluation loss"));
  CHECK_FALSE(contains(healthy.output, "[numerics]"));

  // SGD at learning rate 1e5 overflows within a few steps.
  std::vector<std::string> args{"train", "copy"};
  for (const std::string& a : tiny_model()) args.push_back(a);
  for (const char* a : {"--batch", "4", "--steps", "4", "--optimizer", "sgd", "--lr-schedule", "constant", "--lr", "1e5",
                        "--check-numerics"})
    args.push_back(a);
  const CliResult diverged = run_attograd(args);
  INFO(diverged.output);
  CHECK(diverged.exit_code == 1);
  CHECK(contains(diverged.output, "[numerics] "));
  CHECK(contains(diverged.output, "(op "));
  CHECK(contains(diverged.output, " NaN, "));
  CHECK(contains(diverged.output, "\n  input 0, node "));
}

}  // namespace
}  // namespace attograd::test
