// A diverging run (issue 18, item 1): a NaN/Inf loss stops training with a
// non-zero exit and a pointer to --check-numerics, or is skipped on request;
// the checkpoint on disk keeps the last finite model; a non-finite model is
// never saved; `plot` refuses the nulls a diverged run wrote.
#include <doctest/doctest.h>

#include "app/divergence_guard.hpp"
#include "app/trainer.hpp"
#include "cli_check.hpp"
#include "engine/error.hpp"
#include "io/safetensors.hpp"
#include "train/finite_values.hpp"

namespace attograd::test {
namespace {

// SGD at a rate of 1e6: the loss is ~1e11 at step 2 and NaN by step 4..7.
const std::vector<std::string> kDiverging{"--optimizer", "sgd", "--lr-schedule", "constant", "--lr", "1e6",
                                          "--dropout", "0"};

std::vector<std::string> train_args(const std::vector<std::string>& more) {
  std::vector<std::string> args{"train", "copy"};
  for (const auto& list : {tiny_model(), kDiverging, more}) args.insert(args.end(), list.begin(), list.end());
  return args;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a diverging run stops with a non-zero exit, points to --check-numerics and keeps the finite checkpoint") {
  const std::string ckpt = scratch("diverge.safetensors"), metrics = scratch("diverge.jsonl");
  const CliResult r = run_attograd(train_args({"--steps", "30", "--eval-every", "1", "--save", ckpt, "--metrics", metrics}));
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.output, "training diverged"));
  CHECK(contains(r.output, "is NaN") + contains(r.output, "Inf") >= 1);
  CHECK(contains(r.output, "Rerun with --check-numerics"));
  CHECK(contains(r.output, "keeps the model of step"));
  const SafetensorsFile saved = load_safetensors(ckpt);
  for (const auto& [name, t] : saved.tensors) CHECK_MESSAGE(count_non_finite(t) == 0, name);
  for (const nlohmann::json& record : metrics_records(metrics))
    for (const char* key : {"loss", "eval_loss", "accuracy"}) CHECK_FALSE((record.contains(key) && record[key].is_null()));
}

TEST_CASE("with on_nonfinite = skip a NaN step is skipped, recorded and counted, then 20 in a row stop") {
  TrainOptions o;
  o.task = "copy";
  o.layers = 1, o.d_model = 32, o.heads = 2, o.d_ff = 64, o.threads = 1, o.quiet = true, o.dropout = 0;
  o.optimizer = "sgd", o.lr_schedule = "constant", o.lr = 1e6, o.steps = 40, o.eval_every = 1000;
  o.on_nonfinite = "skip";
  o.metrics = scratch("skip.jsonl");
  const std::string message = error_of([&] { train(o); });
  CHECK(contains(message, "the 20th skipped step in a row (20 skipped in all)"));
  CHECK(contains(message, "--check-numerics"));
  int skipped = 0;
  for (const nlohmann::json& record : metrics_records(o.metrics)) {
    CHECK_FALSE((record.contains("loss") && record["loss"].is_null()));
    skipped += record.value("skipped", "") == "the loss was NaN or Inf";
  }
  CHECK(skipped == 19);  // the 20th stops the run before its record
}

TEST_CASE("the divergence guard skips, stops, and refuses to save a non-finite model") {
  DivergenceGuard stop("stop", "run.safetensors");
  CHECK_FALSE(stop.after_step(1, 2.5));
  stop.saved(1);
  const std::string m = error_of([&] { stop.after_step(2, std::numeric_limits<double>::quiet_NaN()); });
  CHECK(contains(m, "[train] step 2: the training loss is NaN"));
  CHECK(contains(m, "'run.safetensors' keeps the model of step 1"));
  CHECK(contains(error_of([&] { stop.after_evaluation(3, std::numeric_limits<double>::infinity()); }),
                 "the evaluation loss is +Inf"));

  DivergenceGuard skip("skip", "");
  CHECK(skip.after_step(5, -std::numeric_limits<double>::infinity()));
  CHECK_FALSE(skip.after_step(6, 1.0));
  CHECK(skip.skipped() == 1);
  CHECK(contains(error_of([] { DivergenceGuard("ignore", ""); }), "expected stop or skip"));

  ParameterStore store(1);
  Parameter& p = store.get_or_create("layer.weight", DType::f32, {2, 3}, Init::ones());
  CHECK_NOTHROW(skip.before_save(store, 7));
  p.value.data<float>()[4] = std::numeric_limits<float>::quiet_NaN();
  CHECK(contains(error_of([&] { skip.before_save(store, 7); }),
                 "tensor 'layer.weight' holds 1 of 6 values that are NaN or Inf, so it is not saved"));
  p.value.data<float>()[4] = 0;
  p.state["exp_avg_sq"] = Tensor::full(DType::f32, {2, 3}, std::numeric_limits<float>::infinity());
  CHECK(contains(error_of([&] { skip.before_save(store, 8); }), "'optimizer.layer.weight.exp_avg_sq' holds 6 of 6"));
}

TEST_CASE("plot refuses a metrics file with a null loss, naming the line") {
  const std::string metrics = scratch("null_loss.jsonl");
  write_file(metrics, "{\"step\": 1, \"loss\": 2.5}\n{\"step\": 2, \"loss\": null}\n");
  const CliResult r = run_attograd({"plot", metrics, "--out", scratch("null_loss.svg")});
  INFO(r.output);
  CHECK(r.exit_code == 1);
  CHECK(contains(r.output, "null_loss.jsonl:2: \"loss\" is null, a value that was not finite"));
}

}  // namespace attograd::test
