// The validating half of the safetensors reader (io/safetensors.cpp):
// an input file that refuses every read outside its bounds, and the header
// parser. Internal to the engine; tests reach it through load_safetensors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/safetensors.hpp"

namespace attograd {

// A read-only file. Every failure is a FileError naming the file.
class InputFile {
 public:
  explicit InputFile(std::string path);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  const std::string& path() const { return path_; }
  std::uint64_t size() const { return size_; }
  // Reads exactly `n` bytes at `offset`; throws if they are not in the file.
  void read_at(std::uint64_t offset, void* out, std::uint64_t n) const;
  [[noreturn]] void fail(const std::string& problem) const;

 private:
  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

struct HeaderEntry {
  std::string name;
  std::string dtype;  // "F32", "F64", "I32" or "I64": the dtypes load_safetensors reads
  Shape shape;
  std::uint64_t begin = 0, end = 0;  // relative to the data section
};

struct ParsedHeader {
  std::vector<HeaderEntry> entries;  // sorted by offset, tiling the data section
  Metadata metadata;
  std::uint64_t data_start = 0;      // 8 + header length
};

// Reads and validates the header; after it returns, every entry's bytes are
// known to lie inside the file and to match its dtype and shape.
ParsedHeader read_header(const InputFile& file);

}  // namespace attograd
