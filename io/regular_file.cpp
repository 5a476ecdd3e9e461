#include "io/regular_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "engine/error.hpp"

namespace attograd {

const char* file_kind(unsigned mode) {
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a plain file";
}

void require_regular_file(const std::string& path, const std::string& component) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw FileError(fmt::format("[{}] '{}': cannot read: {}", component, path, std::strerror(errno)));
  if (!S_ISREG(st.st_mode))
    throw FileError(fmt::format("[{}] '{}': not a regular file ({})", component, path, file_kind(st.st_mode)));
}

}  // namespace attograd
