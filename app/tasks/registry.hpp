// The tasks `attograd` trains — copy, numbers and lm — and what differs
// between them: their defaults, the data they read, and what the training
// loop trains. copy and numbers are sequence-to-sequence tasks whose
// examples a Seq2SeqTask generates (app/tasks/task.hpp); lm is a character
// language model over a text file (app/lm.hpp). Code that depends on the
// task asks its Task here rather than comparing names.
//
//   const Task& task = find_task("lm");
//   RunConfig config;
//   TaskDefaults defaults = task.prepare(config, std::nullopt);  // reads the default corpus
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "app/tasks/task.hpp"

namespace attograd {

struct RunConfig;
class Trainee;

// What a task's model does: translate a source into a target, or continue a text.
enum class ModelKind { seq2seq, language_model };

class Task {
 public:
  virtual ~Task() = default;
  virtual std::string name() const = 0;
  virtual ModelKind model() const = 0;
  // The task's defaults. Fills in what the task decides of `config`: the
  // vocabularies and, for lm, the corpus (`data`, or the task's own text)
  // with its fingerprint, alphabet and context.
  virtual TaskDefaults prepare(RunConfig& config, const std::optional<std::string>& data) const = 0;
  virtual std::unique_ptr<Trainee> make_trainee(const RunConfig& config, int threads) const = 0;
};

// The task named `name`; throws Error listing the tasks for an unknown name.
const Task& find_task(const std::string& name);
// The same, or nullptr.
const Task* lookup_task(const std::string& name);
// "copy", "numbers", "lm"; or those whose model is `kind`.
std::vector<std::string> task_names();
std::vector<std::string> task_names(ModelKind kind);

}  // namespace attograd
