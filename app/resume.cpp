#include "app/resume.hpp"

#include <fmt/format.h>

#include "app/lm.hpp"
#include "engine/error.hpp"
#include "io/safetensors.hpp"

namespace attograd {
namespace {

// Every fixed setting given on the command line must have the checkpoint's value.
void check_given_settings(const TrainOptions& options, const RunConfig& command_line, const RunConfig& saved) {
  for (const std::string& flag : options.given) {
    const Setting* s = find_setting(flag);
    if (!s) throw Error(fmt::format("[train] {} is not in the table of settings (a bug: add it to app/settings.cpp)", flag));
    if (s->on_resume == OnResume::free) continue;
    const std::string given = s->value.write(command_line), trained = s->value.write(saved);
    if (given != trained)
      throw Error(fmt::format("[train] {} {} conflicts with the checkpoint '{}', which was trained with {} {} "
                              "(a resumed run keeps the checkpoint's settings; drop the flag)",
                              flag, given, options.resume, flag, trained));
  }
}

}  // namespace

RunConfig resumed_config(const TrainOptions& options, const RunConfig& command_line) {
  const std::string& path = options.resume;
  RunConfig saved = training_from_metadata(load_safetensors(path).metadata, path);
  if (saved.task != command_line.task)
    throw Error(fmt::format("[train] '{}' is a checkpoint of task '{}', not '{}'", path, saved.task, command_line.task));
  check_given_settings(options, command_line, saved);
  if (!saved.data.empty() && fnv1a(read_text_file(saved.data)) != saved.data_hash)  // a run on a corpus (lm)
    throw Error(fmt::format("[train] the corpus '{}' has changed since '{}' was saved: resuming would not be exact",
                            saved.data, path));
  // The length of the run and the evaluation cadence are the command line's.
  saved.steps = command_line.steps;
  saved.eval_every = command_line.eval_every;
  saved.eval_batches = command_line.eval_batches;
  return saved;
}

}  // namespace attograd
