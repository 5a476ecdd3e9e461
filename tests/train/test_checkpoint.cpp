#include <doctest/doctest.h>

#include <csignal>
#include <string>

#include <sys/resource.h>

#include "train/checkpoint.hpp"
#include "engine/error.hpp"
#include "train/optimizer.hpp"
#include "tests/support/files.hpp"

using namespace attograd;
using attograd::testing::read_bytes;
using attograd::testing::TempDir;

namespace {

// A small model: a linear layer in f32 and an f64 parameter, with gradients.
ParameterStore model(std::uint64_t seed) {
  ParameterStore store(seed);
  store.get_or_create("decoder.layers.0.linear.weight", DType::f32, {4, 3}, Init::xavier_uniform());
  store.get_or_create("decoder.layers.0.linear.bias", DType::f32, {4}, Init::uniform(-1, 1));
  store.get_or_create("scale", DType::f64, {}, Init::normal(0, 1));
  for (Parameter& p : store.all()) initialize(p.grad, Init::normal(0, 1), seed + 1);
  return store;
}

TrainingState some_state() {
  return {.step = 1200,
          .seed = 18446744073709551615ull,
          .optimizer = "adam",
          .optimizer_hyperparameters = {{"beta1", 0.9}, {"beta2", 0.98}, {"eps", 1e-9}, {"weight_decay", 0.1}},
          .schedule = "noam",
          .schedule_parameters = {{"factor", 1.0 / 3.0}, {"d_model", 512}, {"warmup", 4000}},
          .extra = {{"data.epoch", "3"}, {"format", "pt"}}};
}

void check_same_parameters(const ParameterStore& a, const ParameterStore& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    const Parameter &p = a.all()[i], &q = b.all()[i];
    INFO(p.name);
    CHECK(p.value.bit_equal(q.value));
    REQUIRE(p.state.size() == q.state.size());
    for (const auto& [slot, t] : p.state) CHECK(q.state.at(slot).bit_equal(t));
  }
}

// Loads `path` into a fresh model, expecting a FileError with `problem`, and
// checks that the model was not changed.
void check_refused(const std::string& path, const std::string& problem, ParameterStore target = model(99)) {
  INFO(path);
  const ParameterStore before = model(99);
  TrainingState state;
  try {
    load_checkpoint(path, target, state);
    FAIL("accepted");
  } catch (const FileError& e) {
    const std::string message = e.what();
    CHECK_MESSAGE(message.find(path) != std::string::npos, message);
    CHECK_MESSAGE(message.find(problem) != std::string::npos, message);
  }
  CHECK(state == TrainingState{});
  for (std::size_t i = 0; i < before.size(); ++i) CHECK(target.all()[i].value.bit_equal(before.all()[i].value));
}

}  // namespace

TEST_CASE("a checkpoint round-trips parameters, optimizer state and training state bit for bit") {
  TempDir dir;
  ParameterStore saved = model(1);
  Adam opt;
  opt.step(saved, 1e-2);
  opt.step(saved, 1e-2);
  save_checkpoint(dir.file("ckpt.safetensors"), saved, some_state());

  ParameterStore loaded = model(2);  // other values, same names and shapes
  TrainingState state;
  load_checkpoint(dir.file("ckpt.safetensors"), loaded, state);
  check_same_parameters(saved, loaded);
  CHECK(state == some_state());
}

TEST_CASE("a checkpoint stores PyTorch state_dict names and optimizer state under optimizer.<param>.<slot>") {
  TempDir dir;
  ParameterStore store = model(1);
  Sgd({.momentum = 0.9}).step(store, 0.1);
  save_checkpoint(dir.file("c"), store, {.step = 1, .seed = 5});
  const SafetensorsFile f = load_safetensors(dir.file("c"));
  CHECK(f.find("decoder.layers.0.linear.weight") != nullptr);
  CHECK(f.find("optimizer.decoder.layers.0.linear.weight.momentum_buffer") != nullptr);
  CHECK(f.find("optimizer.scale.momentum_buffer") != nullptr);
  CHECK(f.metadata.at("step") == "1");
  CHECK(f.metadata.at("seed") == "5");
  CHECK(f.metadata.at("attograd_format_version") == "1");
}

TEST_CASE("training resumed from a checkpoint continues bit-identically") {
  TempDir dir;
  ParameterStore run = model(1);
  auto opt = make_optimizer("adamw", {{"beta2", 0.98}});
  opt->step(run, 1e-3);
  save_checkpoint(dir.file("c"), run, {.step = opt->step_count(), .optimizer = opt->name(),
                                       .optimizer_hyperparameters = opt->hyperparameters()});
  opt->step(run, 1e-3);

  ParameterStore resumed = model(1);  // same gradients
  TrainingState st;
  load_checkpoint(dir.file("c"), resumed, st);
  auto opt2 = make_optimizer(st.optimizer, st.optimizer_hyperparameters);
  opt2->set_step_count(st.step);
  opt2->step(resumed, 1e-3);
  check_same_parameters(run, resumed);
}

TEST_CASE("a plain safetensors state_dict without metadata loads with a default training state") {
  TempDir dir;
  const ParameterStore source = model(1);
  NamedTensors tensors;
  for (const Parameter& p : source.all()) tensors.emplace_back(p.name, p.value);
  save_safetensors(dir.file("weights"), tensors);
  ParameterStore store = model(2);
  Sgd().step(store, 0.1);
  TrainingState state = some_state();
  load_checkpoint(dir.file("weights"), store, state);
  CHECK(state == TrainingState{});
  check_same_parameters(source, store);  // values, and the optimizer state is gone
}

TEST_CASE("loading refuses a checkpoint that does not match the model, and leaves the model unchanged") {
  TempDir dir;
  const ParameterStore good = model(1);
  auto save_with = [&](const std::string& name, NamedTensors tensors, Metadata metadata = {}) {
    for (const Parameter& p : good.all())
      if (std::none_of(tensors.begin(), tensors.end(), [&](const auto& t) { return t.first == p.name; }))
        tensors.emplace_back(p.name, p.value);
    save_safetensors(dir.file(name), tensors, metadata);
    return dir.file(name);
  };
  const std::string bias = "decoder.layers.0.linear.bias";
  check_refused(save_with("dtype", {{bias, Tensor::zeros(DType::f64, {4})}}),
                "tensor 'decoder.layers.0.linear.bias' is f64 in the file but f32 in the model");
  check_refused(save_with("shape", {{bias, Tensor::zeros(DType::f32, {5})}}),
                "tensor 'decoder.layers.0.linear.bias' has shape (5,) in the file but (4,) in the model");
  check_refused(save_with("extra", {{"encoder.embed.weight", Tensor::zeros(DType::f32, {2})}}),
                "tensor 'encoder.embed.weight' is not a parameter of the model");
  check_refused(save_with("state", {{"optimizer.nope.exp_avg", Tensor::zeros(DType::f32, {2})}}),
                "tensor 'optimizer.nope.exp_avg' is not a parameter of the model");
  check_refused(save_with("state-shape", {{"optimizer.scale.exp_avg", Tensor::zeros(DType::f64, {2})}}),
                "tensor 'optimizer.scale.exp_avg' has shape (2,) in the file but () in the model");
  check_refused(save_with("step", {}, {{"step", "12x"}}), "metadata \"step\" is not a valid number: \"12x\"");
  check_refused(save_with("hp", {}, {{"optimizer.beta1", ""}}), "metadata \"optimizer.beta1\" is not a valid number");
  check_refused(save_with("version", {}, {{"attograd_format_version", "2"}}), "unknown attograd_format_version \"2\"");
  ParameterStore bigger = model(99);
  bigger.get_or_create("decoder.norm.weight", DType::f32, {3}, Init::ones());
  check_refused(save_with("missing", {}), "1 parameter(s) of the model missing from the file: 'decoder.norm.weight'",
                std::move(bigger));
}

TEST_CASE("loading refuses a file that is not a valid safetensors file") {
  TempDir dir;
  attograd::testing::write_bytes(dir.file("junk"), "this is not a checkpoint");
  check_refused(dir.file("junk"), "header length");
}

TEST_CASE("save_checkpoint refuses names that would be ambiguous in the file") {
  TempDir dir;
  TrainingState st;
  st.extra = {{"step", "1"}};
  CHECK_THROWS_WITH_AS(save_checkpoint(dir.file("c"), model(1), st), doctest::Contains("key 'step' is reserved"), Error);
  ParameterStore odd;
  odd.get_or_create("optimizer.lr", DType::f32, {1}, Init::zeros());
  CHECK_THROWS_WITH_AS(save_checkpoint(dir.file("c"), odd, {}), doctest::Contains("clashes"), Error);
  CHECK(dir.entries().empty());
}

TEST_CASE("saving over a checkpoint replaces it; a save that fails midway leaves it intact") {
  TempDir dir;
  const std::string path = dir.file("ckpt.safetensors");
  save_checkpoint(path, model(1), {.step = 1});
  save_checkpoint(path, model(2), {.step = 2});
  ParameterStore store = model(3);
  TrainingState st;
  load_checkpoint(path, store, st);
  CHECK(st.step == 2);
  const std::string previous = read_bytes(path);

  // A model far larger than the file size limit set below: write() fails
  // (EFBIG) part way through the new file.
  ParameterStore big(4);
  big.get_or_create("huge", DType::f32, {100000}, Init::zeros());
  rlimit saved_limit{};
  getrlimit(RLIMIT_FSIZE, &saved_limit);
  const auto saved_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit small = saved_limit;
  small.rlim_cur = 4096;
  setrlimit(RLIMIT_FSIZE, &small);
  CHECK_THROWS_WITH_AS(save_checkpoint(path, big, {.step = 3}), doctest::Contains("write failed"), FileError);
  setrlimit(RLIMIT_FSIZE, &saved_limit);
  std::signal(SIGXFSZ, saved_handler);

  CHECK(read_bytes(path) == previous);
  CHECK(dir.entries() == std::vector<std::string>{"ckpt.safetensors"});  // no temporary file left behind
}

TEST_CASE("saving into a directory that does not exist throws a FileError naming the file") {
  TempDir dir;
  CHECK_THROWS_WITH_AS(save_checkpoint(dir.file("no/such/dir/c"), model(1), {}), doctest::Contains("no/such/dir/c"),
                       FileError);
}
