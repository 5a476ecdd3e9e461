// AtomicFileWriter: writes a file so that readers only ever see the old
// content or the complete new one, even if the process dies mid-write.
//
// The bytes go to a temporary file in the target's directory (same file
// system, so rename is atomic); commit() fsyncs it, renames it over the
// target and fsyncs the directory so the rename itself is durable. Without
// commit() (an exception, a crash) the target is untouched and the
// destructor removes the temporary file. A save also removes the temporary
// files of earlier saves to the same path that were killed (kill -9, power
// loss) and so never cleaned up: those older than a minute that no live
// writer holds locked.
//
//   AtomicFileWriter out("run/checkpoint.safetensors");
//   out.write(header.data(), header.size());
//   out.commit();
#pragma once

#include <cstddef>
#include <string>

namespace attograd {

class AtomicFileWriter {
 public:
  // Creates the temporary file; throws FileError naming `path` if it cannot.
  explicit AtomicFileWriter(std::string path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  // Throws FileError (disk full, file size limit, I/O error).
  void write(const void* data, std::size_t size);
  // Makes the new content visible under `path`. Throws FileError.
  void commit();

 private:
  [[noreturn]] void fail(const std::string& what) const;
  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
};

}  // namespace attograd
