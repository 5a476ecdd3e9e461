// Training from the command line: a tiny model's loss falls on every task
// within a few dozen steps; the metrics file holds one record per step and
// per evaluation, with the fields `attograd plot` reads.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
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

namespace {

// "loss X per token, accuracy Y% over N target tokens" -> X, or -1 if absent.
double printed_loss(const std::string& output, std::int64_t* tokens = nullptr) {
  const auto at = output.find("loss ");
  const auto over = output.find(" target tokens");
  if (at == std::string::npos || over == std::string::npos) return -1;
  if (tokens) *tokens = std::stoll(output.substr(output.rfind("over ", over) + 5));
  return std::stod(output.substr(at + 5));
}

}  // namespace

TEST_CASE("eval lm gives the per-character loss of a checkpoint on its held-out text or a given file") {
  const std::string corpus = scratch("eval_corpus.txt"), other = scratch("eval_other.txt");
  std::string text;
  for (int i = 0; i < 40; ++i) text += "the quick brown fox jumps over the lazy dog " + std::to_string(i) + "\n";
  write_file(corpus, text);
  write_file(other, text.substr(0, 400));
  const std::string untrained = scratch("eval_lm_1.safetensors"), trained = scratch("eval_lm_60.safetensors");
  const std::vector<std::string> common = {"--batch", "8", "--data", corpus, "--lr-schedule", "constant", "--lr", "0.005"};
  std::vector<std::string> one = common, sixty = common;
  one.insert(one.end(), {"--steps", "1", "--save", untrained});
  sixty.insert(sixty.end(), {"--steps", "60", "--save", trained});
  train_tiny("lm", one);
  train_tiny("lm", sixty);

  const CliResult before = run_attograd({"eval", "lm", "--load", untrained, "--batches", "4", "--threads", "1"});
  const CliResult after = run_attograd({"eval", "lm", "--load", trained, "--batches", "4", "--threads", "1"});
  INFO(before.output);
  INFO(after.output);
  REQUIRE(before.exit_code == 0);
  REQUIRE(after.exit_code == 0);
  std::int64_t tokens = 0;
  const double loss_before = printed_loss(before.output, &tokens), loss_after = printed_loss(after.output);
  CHECK(tokens == 4 * 8 * 64);  // batches x batch x the default context
  CHECK(loss_before > 0);
  CHECK(loss_after > 0);
  CHECK(loss_after < 0.8 * loss_before);  // 60 steps of training show in the evaluation
  // The same windows every time, on any thread count.
  CHECK(run_attograd({"eval", "lm", "--load", trained, "--batches", "4", "--threads", "2"}).output == after.output);
  // The default text is the last 10% of the corpus, as training split it:
  // that text given as a file gives the same windows and loss.
  const std::string held_out = scratch("eval_held_out.txt");
  write_file(held_out, text.substr(text.size() * 9 / 10));
  const CliResult explicit_held_out =
      run_attograd({"eval", "lm", "--load", trained, "--data", held_out, "--batches", "4", "--threads", "1"});
  CHECK(explicit_held_out.output == after.output);
  // Another file: other windows, another loss.
  const CliResult given = run_attograd({"eval", "lm", "--load", trained, "--data", other, "--batches", "4"});
  INFO(given.output);
  CHECK(given.exit_code == 0);
  CHECK(printed_loss(given.output) > 0);
  CHECK(printed_loss(given.output) != loss_after);

  const std::string unknown = scratch("eval_unknown.txt"), short_text = scratch("eval_short.txt"),
                    exactly = scratch("eval_65.txt");
  write_file(unknown, std::string(100, 'Z'));
  write_file(short_text, "the fox");
  write_file(exactly, text.substr(0, 65));  // one window's worth: sampling needs more
  const CliResult bad = run_attograd({"eval", "lm", "--load", trained, "--data", unknown});
  CHECK(bad.exit_code != 0);
  CHECK(contains(bad.output, unknown));
  CHECK(contains(bad.output, "only the characters of its training text"));
  for (const auto& [file, size] : {std::pair{short_text, 7}, std::pair{exactly, 65}}) {
    const CliResult too_short = run_attograd({"eval", "lm", "--load", trained, "--data", file});
    CAPTURE(too_short.output);
    CHECK(too_short.exit_code != 0);
    CHECK(contains(too_short.output, "has " + std::to_string(size) + " characters; windows of 64 + 1 need more"));
  }
  const CliResult seq2seq = run_attograd({"eval", "copy", "--load", trained});
  CHECK(seq2seq.exit_code != 0);
  CHECK(contains(seq2seq.output, "holds a language model"));

  // The corpus changed, or gone: the held-out text is not known any more.
  write_file(corpus, text + "more\n");
  const CliResult changed = run_attograd({"eval", "lm", "--load", trained});
  CHECK(changed.exit_code != 0);
  CHECK(contains(changed.output, "has changed since"));
  CHECK(contains(changed.output, "give --data FILE"));
  std::filesystem::remove(corpus);
  const CliResult gone = run_attograd({"eval", "lm", "--load", trained});
  CHECK(gone.exit_code != 0);
  CHECK(contains(gone.output, corpus));
  CHECK(contains(gone.output, "give --data FILE"));
}

}  // namespace attograd::test
