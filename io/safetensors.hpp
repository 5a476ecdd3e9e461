// safetensors files (https://github.com/huggingface/safetensors), the format
// of attograd's checkpoints:
//
//   8 bytes    N, little-endian unsigned: the header's length
//   N bytes    JSON object: tensor name -> {"dtype": "F32", "shape": [2, 3],
//              "data_offsets": [begin, end]} (byte offsets into the data
//              section), plus an optional "__metadata__": {string: string}
//   the rest   the data section: every tensor's raw little-endian bytes,
//              row-major, back to back with no gap or overlap
//
// Files are untrusted input. load_safetensors validates the whole header
// (JSON syntax, duplicate keys, at most 100,000 entries and 16 levels of
// nesting, types, dtypes, every offset against the file
// size and against dtype * shape, overlaps and gaps) before it reads any
// tensor data, and refuses a bad file with a FileError naming the file and
// the problem. It never reads outside the file.
//
//   save_safetensors("w.safetensors", {{"linear.weight", w}}, {{"step", "7"}});
//   SafetensorsFile f = load_safetensors("w.safetensors");
//   const Tensor* w2 = f.find("linear.weight");
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/tensor.hpp"

namespace attograd {

using Metadata = std::map<std::string, std::string>;
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

struct SafetensorsFile {
  NamedTensors tensors;  // in data-section order
  Metadata metadata;
  const Tensor* find(std::string_view name) const;  // nullptr if absent
};

// Writes atomically (see io/atomic_file.hpp): tensors in the given order,
// header padded with spaces so the data section starts 8-byte aligned.
// Throws Error for an empty, duplicate or reserved ("__metadata__") name and
// FileError if the file cannot be written.
void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata = {});

// Reads F32, F64 and I32 tensors as they are, and I64 as i32 (refusing values
// out of the i32 range: token ids saved by PyTorch). Other dtypes of the
// format (F16, BF16, U8, ...) are refused as unsupported, others as unknown.
SafetensorsFile load_safetensors(const std::string& path);

// The header alone, validated as load_safetensors validates it, without
// reading any tensor data: what a caller checks before allocating anything.
struct TensorInfo {
  std::string name;
  DType dtype;  // as load_safetensors returns it (I64 -> i32)
  Shape shape;
};
struct SafetensorsHeader {
  std::vector<TensorInfo> tensors;  // in data-section order
  Metadata metadata;
};
SafetensorsHeader read_safetensors_header(const std::string& path);

}  // namespace attograd
