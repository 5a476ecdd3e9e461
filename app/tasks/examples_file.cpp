#include "app/tasks/examples_file.hpp"

#include <fstream>
#include <istream>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "io/regular_file.hpp"
#include "models/layers.hpp"

namespace attograd {
namespace {

Example parse_example(const Seq2SeqTask& task, const std::string& line) {
  const auto tab = line.find('\t');
  if (tab == std::string::npos) throw Error("expected \"source<TAB>target\"");
  Example e{task.encode_source(line.substr(0, tab)), task.encode_target(line.substr(tab + 1))};
  if (task.eos() < 0 && e.tgt.front() != task.bos())
    throw Error(fmt::format("a {} target starts with {}", task.name(), task.bos()));
  for (const auto& [what, ids] : {std::pair{"source", &e.src}, std::pair{"target", &e.tgt}})
    if (std::ssize(*ids) > kMaxPositions)
      throw Error(fmt::format("the {} has {} tokens; the model's positions end at {}", what, ids->size(), kMaxPositions));
  return e;
}

}  // namespace

std::vector<Example> parse_examples(const Seq2SeqTask& task, std::istream& in, const std::string& source) {
  std::vector<Example> examples;
  std::string line;
  for (long number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    try {
      examples.push_back(parse_example(task, line));
    } catch (const Error& e) {
      throw FileError(fmt::format("[eval] {}:{}: {}", source, number, e.what()));
    }
  }
  if (in.bad()) throw FileError(fmt::format("[eval] error while reading '{}'", source));
  if (examples.empty()) throw FileError(fmt::format("[eval] '{}' holds no examples", source));
  return examples;
}

std::vector<Example> read_examples(const Seq2SeqTask& task, const std::string& path) {
  require_regular_file(path, "eval");
  std::ifstream in(path);
  if (!in) throw FileError(fmt::format("[eval] cannot read '{}'", path));
  return parse_examples(task, in, path);
}

}  // namespace attograd
