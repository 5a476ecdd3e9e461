// Input files must be regular files: opening a FIFO for reading blocks until
// a writer appears (forever, for a user who typed the wrong path), and a
// device or socket is no checkpoint or text either. Every reader checks with
// stat(), which never blocks, before it opens the path.
//
//   require_regular_file(path, "eval");
//   // FileError "[eval] 'in.fifo': not a regular file (a FIFO)"
#pragma once

#include <string>

namespace attograd {

// Throws FileError "[component] 'path': ..." if `path` cannot be stat'ed or
// is not a regular file (symbolic links are followed).
void require_regular_file(const std::string& path, const std::string& component);

// "a FIFO", "a directory", ... for a stat() st_mode that is not a regular file.
const char* file_kind(unsigned mode);

}  // namespace attograd
