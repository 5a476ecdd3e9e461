// The table of run settings (app/settings.cpp): every flag of `attograd
// train` is a row, classified for --resume; every stored setting survives
// the checkpoint metadata round trip; a resumed run refuses each fixed
// setting that differs from the checkpoint, naming both values, and accepts
// every free one. And the task registry's defaults.
#include <doctest/doctest.h>

#include <fmt/format.h>

#include "app/resume.hpp"
#include "app/run_config.hpp"
#include "app/tasks/registry.hpp"
#include "cli_check.hpp"
#include "engine/error.hpp"
#include "io/safetensors.hpp"

namespace attograd::test {
namespace {

// The lm task on a small corpus of its own, written to scratch file `name`.
TrainOptions lm_options(const std::string& name, const std::string& text) {
  write_file(scratch(name), text);
  TrainOptions o;
  o.task = "lm";
  o.data = scratch(name);
  return o;
}

// Every setting away from both RunConfig{}'s values and `other_options()`'s.
TrainOptions unusual_options() {
  TrainOptions o = lm_options("settings_corpus.txt", "abc abd abe: a small corpus for the settings round trip\n");
  o.layers = 3, o.d_model = 48, o.heads = 3, o.d_ff = 40, o.dropout = 0.2, o.label_smoothing = 0.1;
  o.norm = "pre", o.activation = "gelu", o.precision = "bf16", o.batch = 5, o.seed = 7, o.steps = 17;
  o.lr_schedule = "cosine", o.lr = 0.003, o.warmup = 9, o.optimizer = "adamw";
  o.beta1 = 0.8, o.beta2 = 0.95, o.eps = 1e-7, o.weight_decay = 0.2, o.clip = 0.5, o.accumulate = 3;
  return o;
}

TrainOptions other_options() {
  TrainOptions o = lm_options("settings_other_corpus.txt", "another corpus\n");
  o.layers = 1, o.d_model = 16, o.heads = 2, o.d_ff = 24, o.dropout = 0.0, o.label_smoothing = 0.0;
  o.norm = "post", o.batch = 2, o.steps = 30, o.lr = 2, o.warmup = 1;
  return o;
}

// A checkpoint file holding `config` as `attograd train` writes it (no tensors: resume reads only the metadata).
std::string checkpoint_of(const RunConfig& config, const std::string& name) {
  std::map<std::string, std::string> metadata = to_metadata(config);
  metadata["seed"] = fmt::format("{}", config.seed);  // the checkpoint's own entry (TrainingState)
  const std::string path = scratch(name);
  save_safetensors(path, {}, metadata);
  return path;
}

TEST_CASE("every flag of `attograd train --help` is a row of the settings table, fixed or free on resume") {
  const CliResult help = run_attograd({"train", "--help"});
  REQUIRE(help.exit_code == 0);
  std::set<std::string> listed;
  for (std::size_t at = help.output.find(" --"); at != std::string::npos; at = help.output.find(" --", at + 1)) {
    const std::size_t end = help.output.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-", at + 3);
    const std::string flag = help.output.substr(at + 1, end - at - 1);
    if (flag != "--help") listed.insert(flag);
  }
  CHECK(listed.size() > 30);
  for (const std::string& flag : listed) {
    CAPTURE(flag);
    CHECK(find_setting(flag) != nullptr);
  }
  for (const Setting& s : train_settings()) {  // and every row's flag is on the command line
    CAPTURE(s.flag);
    if (!s.flag.empty()) CHECK(listed.count(s.flag) == 1);
  }
  CHECK(find_setting("--seed")->on_resume == OnResume::fixed);
  CHECK(find_setting("--steps")->on_resume == OnResume::free);
  CHECK(find_setting("--threads")->on_resume == OnResume::free);
}

TEST_CASE("a fixed setting is stored in checkpoints, and flags and keys are each named once") {
  std::set<std::string> flags, keys;
  for (const Setting& s : train_settings()) {
    CAPTURE(s.flag);
    CAPTURE(s.key);
    if (s.on_resume == OnResume::fixed) {
      CHECK(s.stored != Stored::no);  // resume compares it with the checkpoint's
      CHECK(!s.flag.empty());
    }
    CHECK((s.stored == Stored::no) == s.key.empty());
    CHECK((s.stored == Stored::no) == !s.value.write);
    if (!s.flag.empty()) CHECK(flags.insert(s.flag).second);
    if (!s.key.empty()) CHECK(keys.insert(s.key).second);
  }
}

TEST_CASE("to_metadata and back gives every stored setting's value") {
  const RunConfig config = resolve_config(unusual_options());
  std::map<std::string, std::string> metadata = to_metadata(config);
  metadata["seed"] = fmt::format("{}", config.seed);
  const RunConfig read = training_from_metadata(metadata, "round trip");
  const RunConfig blank;
  int stored = 0;
  for (const Setting& s : train_settings()) {
    if (s.stored == Stored::no) continue;
    CAPTURE(s.key);
    CHECK(s.value.write(config) != s.value.write(blank));  // else the check below proves nothing
    CHECK(s.value.write(read) == s.value.write(config));
    ++stored;
  }
  CHECK(stored == 30);
  CHECK(metadata.size() == static_cast<std::size_t>(stored));  // one entry per stored setting, no other
}

TEST_CASE("each stored setting reads into its own field, changing no other setting") {
  const RunConfig config = resolve_config(unusual_options());
  const RunConfig blank;
  for (const Setting& s : train_settings()) {
    if (s.stored == Stored::no) continue;
    CAPTURE(s.key);
    RunConfig changed = config;
    REQUIRE(s.value.read(changed, s.value.write(blank)));
    for (const Setting& other : train_settings()) {
      if (other.stored == Stored::no) continue;
      CAPTURE(other.key);
      CHECK((other.value.write(changed) != other.value.write(config)) == (&other == &s));
    }
  }
}

TEST_CASE("a setting at its absent_means value is left out of the metadata, and its absence reads as that value") {
  const RunConfig config = resolve_config(unusual_options());
  RunConfig plain = config;
  plain.precision = Precision::f32;
  int omissible = 0;
  for (const Setting& s : train_settings()) {
    if (s.absent_means.empty()) continue;
    CAPTURE(s.key);
    ++omissible;
    std::map<std::string, std::string> metadata = to_metadata(plain);
    CHECK(metadata.count(s.key) == 0);  // a default run writes what it wrote before the setting existed
    metadata["seed"] = "7";
    CHECK(s.value.write(training_from_metadata(metadata, "absent")) == s.absent_means);
    CHECK(to_metadata(config).at(s.key) != s.absent_means);
    metadata[s.key] = "half";
    CHECK_THROWS_WITH_AS(from_metadata(metadata, "bad"), doctest::Contains(fmt::format("entry '{}' = 'half' is not a valid value", s.key).c_str()),
                         FileError);
  }
  CHECK(omissible == 1);  // --precision
}

TEST_CASE("from_metadata reads the model settings alone, and names a malformed entry") {
  const RunConfig config = resolve_config(unusual_options());
  std::map<std::string, std::string> model_only;
  for (const Setting& s : train_settings())
    if (s.stored == Stored::model) model_only[s.key] = s.value.write(config);
  const RunConfig read = from_metadata(model_only, "model only");
  CHECK(read.model.d_model == 48);
  CHECK(read.alphabet == config.alphabet);
  CHECK(read.data.empty());  // lm.data is optional here
  CHECK_THROWS_WITH_AS(training_from_metadata(model_only, "model only"),
                       doctest::Contains("can be evaluated and decoded, not resumed exactly"), FileError);
  model_only["model.heads"] = "three";
  CHECK_THROWS_WITH_AS(from_metadata(model_only, "bad"), doctest::Contains("entry 'model.heads' = 'three' is not a number"),
                       FileError);
}

TEST_CASE("resuming refuses every fixed setting that differs from the checkpoint, naming both values") {
  const RunConfig saved = resolve_config(unusual_options());
  const RunConfig command_line = resolve_config(other_options());
  TrainOptions options = other_options();
  options.resume = checkpoint_of(saved, "settings_fixed.safetensors");
  int fixed = 0;
  for (const Setting& s : train_settings()) {
    if (s.on_resume != OnResume::fixed) continue;
    CAPTURE(s.flag);
    const std::string given = s.value.write(command_line), trained = s.value.write(saved);
    REQUIRE(given != trained);
    options.given = {s.flag};
    const std::string message = fmt::format("{} {} conflicts with the checkpoint '{}', which was trained with {} {}",
                                            s.flag, given, options.resume, s.flag, trained);
    CHECK_THROWS_WITH_AS(resumed_config(options, command_line), doctest::Contains(message.c_str()), Error);
    ++fixed;
  }
  CHECK(fixed == 22);
}

TEST_CASE("resuming accepts every free setting, and keeps the checkpoint's values") {
  const RunConfig saved = resolve_config(unusual_options());
  const RunConfig command_line = resolve_config(other_options());
  TrainOptions options = other_options();
  options.resume = checkpoint_of(saved, "settings_free.safetensors");
  for (const Setting& s : train_settings()) {
    if (s.flag.empty() || s.on_resume != OnResume::free) continue;
    CAPTURE(s.flag);
    options.given = {s.flag};
    RunConfig resumed;
    REQUIRE_NOTHROW(resumed = resumed_config(options, command_line));
    CHECK(resumed.steps == command_line.steps);  // the run's length is the command line's
    CHECK(resumed.lr == saved.lr);
    CHECK(resumed.model.d_model == saved.model.d_model);
  }
}

TEST_CASE("each task brings its defaults; copy evaluates every epoch, the others ten times a run") {
  for (const std::string& name : task_names()) {
    CAPTURE(name);
    TrainOptions o;
    o.task = name;
    const RunConfig c = resolve_config(o);
    CHECK(c.model.src_vocab > 0);
    CHECK(c.model.tgt_vocab > 0);
    CHECK(c.eval_every == (name == "copy" ? 20 : c.steps / 10));
    CHECK(c.data.empty() == (find_task(name).model() == ModelKind::seq2seq));  // lm reads a corpus
  }
  CHECK(task_names(ModelKind::language_model) == std::vector<std::string>{"lm"});
  CHECK_THROWS_WITH_AS(find_task("translate"), doctest::Contains("known tasks: copy, numbers, lm"), Error);
}

}  // namespace
}  // namespace attograd::test
