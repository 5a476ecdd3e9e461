#include "app/output_paths.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "io/regular_file.hpp"

namespace attograd {

void check_output_path(const std::string& flag, const std::string& path) {
  namespace fs = std::filesystem;
  auto refuse = [&](const std::string& why) { throw Error(fmt::format("[train] {} '{}': {}", flag, path, why)); };
  const fs::path dir = fs::path(path).parent_path().empty() ? fs::path(".") : fs::path(path).parent_path();
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) refuse(fmt::format("the directory '{}' does not exist", dir.string()));
  if (!S_ISDIR(st.st_mode)) refuse(fmt::format("'{}' is not a directory", dir.string()));
  if (::access(dir.c_str(), W_OK | X_OK) != 0) refuse(fmt::format("the directory '{}' is not writable", dir.string()));
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    refuse(fmt::format("it is {}, not a regular file", file_kind(st.st_mode)));
}

}  // namespace attograd
