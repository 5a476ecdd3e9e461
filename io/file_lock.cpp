// Removing the lock file on release races with a process that opened it
// just before: that process may then lock a file no longer at the path. So
// after locking, the path must still name the locked file (same device and
// inode), else the lock is retried on the new file.
#include "io/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "engine/error.hpp"

namespace attograd {
namespace {

bool still_at(int fd, const std::string& path) {
  struct stat held {}, named {};
  return ::fstat(fd, &held) == 0 && ::stat(path.c_str(), &named) == 0 && held.st_dev == named.st_dev &&
         held.st_ino == named.st_ino;
}

std::string holder(int fd) {
  char buffer[32] = {};
  const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  const std::string pid = n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : "";
  return pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos ? "another process"
                                                                                  : "process " + pid;
}

}  // namespace

FileLock::FileLock(const std::string& path) : lock_path_(path + ".lock") {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int fd = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
      throw FileError(fmt::format("[lock] cannot create '{}' to lock '{}': {}", lock_path_, path, std::strerror(errno)));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      const std::string who = holder(fd);
      ::close(fd);
      if (error != EWOULDBLOCK)
        throw FileError(fmt::format("[lock] cannot lock '{}': {}", lock_path_, std::strerror(error)));
      throw FileError(fmt::format("[lock] '{}' is in use by {} (it holds '{}'): two runs saving to one path would "
                                  "overwrite each other's checkpoints; use another --save path",
                                  path, who, lock_path_));
    }
    if (!still_at(fd, lock_path_)) {  // released and removed since we opened it: lock the new one
      ::close(fd);
      continue;
    }
    const std::string pid = std::to_string(::getpid());
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
      ::close(fd);
      throw FileError(fmt::format("[lock] cannot write '{}': {}", lock_path_, std::strerror(errno)));
    }
    fd_ = fd;
    return;
  }
  throw FileError(fmt::format("[lock] cannot lock '{}': it keeps being replaced", lock_path_));
}

FileLock::~FileLock() {
  ::unlink(lock_path_.c_str());  // while still holding it: see the top of this file
  ::close(fd_);
}

}  // namespace attograd
