// The examples file `attograd eval copy|numbers --data FILE` reads: one
// example a line, "source<TAB>target", tokens as the task writes them
// (copy: "1 2 3<TAB>1 2 3"; numbers: "42<TAB>forty two"). Blank lines are
// skipped. A source or target must fit the model's positions (kMaxPositions).
//
//   std::vector<Example> examples = read_examples(*make_task("copy"), "held_out.tsv");
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "app/tasks/task.hpp"

namespace attograd {

// Reads `path` (a regular file). Throws FileError "[eval] <path>:<line>:
// <what is wrong>" for a line that is not an example of `task`, and for a
// file without examples.
std::vector<Example> read_examples(const Seq2SeqTask& task, const std::string& path);

// The same from a stream; `source` names it in messages.
std::vector<Example> parse_examples(const Seq2SeqTask& task, std::istream& in, const std::string& source);

}  // namespace attograd
