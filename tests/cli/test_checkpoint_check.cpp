// Checkpoints are checked before anything is built from them (issue 18,
// item 2): a 1.4 KB file describing a 137 GB model, tensors that do not
// match the metadata, impossible settings and NaN weights are refused by
// name, at once, by every command that loads a checkpoint.
#include <doctest/doctest.h>

#include <chrono>
#include <limits>

#include "app/lm.hpp"
#include "app/model_size.hpp"
#include "app/seq2seq.hpp"
#include "app/tasks/task.hpp"
#include "cli_check.hpp"
#include "io/safetensors.hpp"

namespace attograd::test {
namespace {

// A copy of the trained copy model with `edit` applied to its tensors and metadata.
std::string edited_copy_model(const std::string& name, const std::function<void(SafetensorsFile&)>& edit) {
  SafetensorsFile f = load_safetensors(trained_copy_model());
  edit(f);
  const std::string path = scratch(name + ".safetensors");
  save_safetensors(path, f.tensors, f.metadata);
  return path;
}

// `decode` (and `eval`) of `path` fail within seconds with `message`.
void check_refused(const std::string& path, const std::string& message) {
  for (const std::vector<std::string>& args : {std::vector<std::string>{"decode", "copy", "--load", path, "--input", "1 2 3"},
                                               std::vector<std::string>{"eval", "copy", "--load", path, "--batches", "1"}}) {
    const auto start = std::chrono::steady_clock::now();
    const CliResult r = run_attograd(args);
    INFO(joined(args), "\n", r.output);
    CHECK(r.exit_code == 1);
    CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 10);
    CHECK(contains(r.output, message));
    CHECK_FALSE(contains(r.output, "stoi"));
  }
}

std::map<std::string, Shape> shapes_of(const ParameterStore& store) {
  std::map<std::string, Shape> out;
  for (const Parameter& p : store.all()) out[p.name] = p.value.shape();
  return out;
}

}  // namespace

TEST_CASE("expected_parameters names every parameter the builders create, with its shape") {
  for (const char* norm : {"pre", "post"}) {
    TrainOptions o;
    o.layers = 2, o.d_model = 8, o.heads = 2, o.d_ff = 12, o.norm = norm;
    o.task = "numbers";
    const RunConfig s2s = resolve_config(o);
    const auto task = make_task("numbers");
    Seq2SeqModel model(*task, s2s.model, 1, 1, 0.0);
    CHECK(expected_parameters(s2s) == shapes_of(model.parameters()));
    o.task = "lm";
    const RunConfig lm = resolve_config(o);
    const CharVocab vocab = CharVocab::from_alphabet(lm.alphabet);
    LanguageModel language_model(vocab, lm.model, 1, 1, 0.0);
    CHECK(expected_parameters(lm) == shapes_of(language_model.parameters()));
  }
}

TEST_CASE("a small file describing a huge model is refused before anything is allocated, naming the bound") {
  const std::string huge = edited_copy_model("huge", [](SafetensorsFile& f) {
    f.tensors.clear();
    f.metadata["model.d_model"] = f.metadata["model.d_ff"] = "16384";
  });
  check_refused(huge, "would need about");
  check_refused(huge, "GiB to train, more than the 24 GiB attograd accepts");
  const CliResult resumed = run_attograd({"train", "copy", "--resume", huge, "--steps", "500", "--quiet"});
  CHECK(resumed.exit_code == 1);
  CHECK(contains(resumed.output, "more than the 24 GiB attograd accepts"));
}

TEST_CASE("tensors that do not match the metadata's model are refused by name") {
  check_refused(edited_copy_model("no_tensors", [](SafetensorsFile& f) { f.tensors.clear(); }),
                "of the model its metadata describes is not in the file (0 of ");
  check_refused(edited_copy_model("wider", [](SafetensorsFile& f) { f.metadata["model.d_ff"] = "128"; }),
                "'encoder.layers.0.feed_forward.linear1.weight' has shape (64, 32), the model its metadata describes has (128, 32)");
  check_refused(edited_copy_model("stranger", [](SafetensorsFile& f) {
                  f.tensors.emplace_back("encoder.layers.7.norm1.weight", Tensor::zeros(DType::f32, {32}));
                }),
                "tensor 'encoder.layers.7.norm1.weight' is not a parameter of the model its metadata describes");
  check_refused(edited_copy_model("f64", [](SafetensorsFile& f) {
                  f.tensors.front().second = Tensor::zeros(DType::f64, f.tensors.front().second.shape());
                }),
                "is f64, the model's parameters are f32");
}

TEST_CASE("impossible settings in the metadata are refused naming the entry") {
  check_refused(edited_copy_model("batch0", [](SafetensorsFile& f) { f.metadata["train.batch"] = "0"; }),
                "'train.batch' = 0 is outside 1..1048576");
  check_refused(edited_copy_model("batch_huge", [](SafetensorsFile& f) { f.metadata["train.batch"] = "1099511627776"; }),
                "'train.batch' = 1099511627776 is outside 1..1048576");
  check_refused(edited_copy_model("layers", [](SafetensorsFile& f) { f.metadata["model.layers"] = "100000"; }),
                "'model.layers' = 100000 is outside 1..64");
  check_refused(edited_copy_model("norm", [](SafetensorsFile& f) { f.metadata["model.norm"] = "sideways"; }),
                "'model.norm' = 'sideways' is not one of pre, post");
  check_refused(edited_copy_model("precision", [](SafetensorsFile& f) { f.metadata["train.precision"] = "f16"; }),
                "'train.precision' = 'f16' is not one of f32, bf16");
  check_refused(edited_copy_model("hex", [](SafetensorsFile& f) { f.metadata["lm.alphabet_hex"] = "zz"; }),
                "'lm.alphabet_hex' = 'zz' is not an even number of hexadecimal digits");
}

TEST_CASE("a checkpoint with a NaN weight is refused, naming the tensor") {
  const std::string nan = edited_copy_model("nan", [](SafetensorsFile& f) {
    REQUIRE(f.tensors.front().first == "src_embed.weight");
    f.tensors.front().second.data<float>()[5] = std::numeric_limits<float>::quiet_NaN();
  });
  check_refused(nan, "tensor 'src_embed.weight' holds 1 of 352");
  check_refused(nan, "values that are NaN or Inf: the run that saved it diverged");
}

}  // namespace attograd::test
