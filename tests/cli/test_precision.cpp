// `--precision bf16` through the program: training takes bf16 products (its
// losses are not f32's), with the same bits for any thread count; the
// checkpoint remembers the precision, `eval` and `decode` run in it unless
// told otherwise, and a resumed run keeps it. An f32 checkpoint has no
// precision entry, so it holds the bytes it held before the flag existed.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "app/loaded_model.hpp"
#include "cli_check.hpp"
#include "io/safetensors.hpp"

namespace attograd::test {
namespace {

const std::vector<std::string> kRun{"--steps", "4", "--dropout", "0.1", "--eval-every", "2"};

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// The loss line `attograd eval` prints.
std::string eval_loss_line(const std::vector<std::string>& args) {
  const CliResult r = run_attograd(args);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const auto at = r.output.find("loss ");
  REQUIRE(at != std::string::npos);
  return r.output.substr(at, r.output.find('\n', at) - at);
}

TEST_CASE("--precision bf16 trains on bf16 products, bit-identical for 1 and 2 threads, and is stored") {
  const std::string bf16_1 = scratch("bf16_t1.safetensors"), bf16_2 = scratch("bf16_t2.safetensors");
  const std::string f32 = scratch("f32.safetensors");
  const std::string bf16_metrics = scratch("bf16_t1.jsonl"), f32_metrics = scratch("f32.jsonl");
  train_tiny("copy", with(kRun, {"--precision", "bf16", "--save", bf16_1, "--metrics", bf16_metrics}));
  std::vector<std::string> two_threads = with({"train", "copy"}, tiny_model());
  *(std::find(two_threads.begin(), two_threads.end(), "--threads") + 1) = "2";
  const CliResult t2 = run_attograd(with(with(two_threads, kRun), {"--precision", "bf16", "--save", bf16_2}));
  INFO(t2.output);
  REQUIRE(t2.exit_code == 0);
  train_tiny("copy", with(kRun, {"--save", f32, "--metrics", f32_metrics}));

  CHECK(read_file(bf16_1) == read_file(bf16_2));  // the whole file, byte for byte
  const SafetensorsFile b = load_safetensors(bf16_1), f = load_safetensors(f32);
  CHECK(b.metadata.at("train.precision") == "bf16");
  CHECK(f.metadata.count("train.precision") == 0);
  const auto bf16_losses = train_losses(bf16_metrics), f32_losses = train_losses(f32_metrics);
  REQUIRE(bf16_losses.size() == 4);
  CHECK(bf16_losses.at(1) != f32_losses.at(1));  // bf16 operands round the very first products
  for (const auto& [step, loss] : bf16_losses) CHECK(std::abs(loss - f32_losses.at(step)) < 0.05 * f32_losses.at(step));
}

TEST_CASE("eval and decode run in the checkpoint's precision unless --precision says otherwise") {
  const std::string bf16 = scratch("bf16_eval.safetensors");
  train_tiny("copy", with(kRun, {"--precision", "bf16", "--save", bf16}));
  const std::vector<std::string> eval{"eval", "copy", "--load", bf16, "--batches", "2", "--threads", "1"};
  const std::string as_trained = eval_loss_line(eval);
  CHECK(eval_loss_line(with(eval, {"--precision", "bf16"})) == as_trained);
  CHECK(eval_loss_line(with(eval, {"--precision", "f32"})) != as_trained);

  const CliResult decoded = run_attograd({"decode", "copy", "--load", bf16, "--input", "1 2 3", "--precision", "f32"});
  INFO(decoded.output);
  CHECK(decoded.exit_code == 0);
  const CliResult bad = run_attograd(with(eval, {"--precision", "f16"}));
  CHECK(bad.exit_code != 0);
  CHECK(contains(bad.output, "--precision"));
  CHECK(contains(bad.output, "f16"));
}

TEST_CASE("loading runs a model in its checkpoint's precision, or in the one asked for") {
  const std::string bf16 = scratch("bf16_load.safetensors"), lm = scratch("bf16_lm.safetensors");
  train_tiny("copy", with(kRun, {"--precision", "bf16", "--save", bf16}));
  train_tiny("lm", {"--steps", "2", "--precision", "bf16", "--save", lm});
  CHECK(load_seq2seq(bf16, "copy", 1).model->precision() == Precision::bf16);
  CHECK(load_seq2seq(bf16, "copy", 1, Precision::f32).model->precision() == Precision::f32);
  CHECK(load_lm(lm, 1).model->precision() == Precision::bf16);
  CHECK(load_lm(lm, 1, Precision::f32).model->precision() == Precision::f32);
  CHECK(load_seq2seq(trained_copy_model(), "copy", 1).model->precision() == Precision::f32);  // no entry: f32

  // The other commands that load take the flag too.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"sample", "--load", lm, "--length", "5", "--precision", "f32"},
        std::vector<std::string>{"attention", "copy", "--load", bf16, "--input", "1 2", "--out",
                                 scratch("bf16_attention.svg"), "--precision", "f32"}}) {
    const CliResult r = run_attograd(args);
    INFO(joined(args), "\n", r.output);
    CHECK(r.exit_code == 0);
  }
}

TEST_CASE("a resumed run keeps the checkpoint's precision and refuses another") {
  const std::string bf16 = scratch("bf16_resume.safetensors");
  train_tiny("copy", with(kRun, {"--precision", "bf16", "--save", bf16}));
  const CliResult r = run_attograd({"train", "copy", "--resume", bf16, "--steps", "6", "--precision", "f32", "--quiet"});
  INFO(r.output);
  CHECK(r.exit_code != 0);
  CHECK(contains(r.output, "--precision f32 conflicts with the checkpoint"));
  CHECK(contains(r.output, "which was trained with --precision bf16"));
}

}  // namespace
}  // namespace attograd::test
