// Files a run writes only at its end or after its first evaluation (--save,
// --plot) are checked before training, so a bad path fails at once instead
// of after the whole run.
//
//   check_output_path("--plot", "runs/curves.svg");
//   // Error "[train] --plot 'notes.txt/curves.svg': 'notes.txt' is not a directory"
#pragma once

#include <string>

namespace attograd {

// Throws Error "[train] <flag> '<path>': ..." unless `path`'s directory
// exists and is writable, and `path` is a regular file or does not exist
// yet (a directory or a device such as /dev/full is refused: an atomic
// write would replace it).
void check_output_path(const std::string& flag, const std::string& path);

}  // namespace attograd
