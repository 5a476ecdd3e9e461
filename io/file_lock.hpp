// An exclusive advisory lock (flock) on "<path>.lock" for as long as the
// object lives: two trainers saving to one checkpoint path would overwrite
// each other's saves, so the second one is refused at once. The lock file
// holds the holder's process id (for the refusal's message); it is removed
// when the lock is released and dies with a killed process, so a stale file
// never blocks anyone.
//
//   FileLock lock("run/model.safetensors");   // throws if another process holds it
#pragma once

#include <string>

namespace attograd {

class FileLock {
 public:
  // Throws FileError "[lock] '<path>' is in use by process <pid> (...)" if
  // another process holds the lock, or naming the error if "<path>.lock"
  // cannot be created.
  explicit FileLock(const std::string& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  const std::string& lock_path() const { return lock_path_; }

 private:
  std::string lock_path_;
  int fd_ = -1;
};

}  // namespace attograd
