#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "engine/error.hpp"
#include "io/safetensors.hpp"
#include "tests/support/files.hpp"

using namespace attograd;
using attograd::testing::read_bytes;
using attograd::testing::TempDir;
using attograd::testing::write_bytes;

namespace {

// An 8-byte little-endian length, then `rest`.
std::string with_length(std::uint64_t length, const std::string& rest) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>(length >> (8 * i));
  return out + rest;
}
std::string file_of(const std::string& header, const std::string& data) {
  return with_length(header.size(), header) + data;
}
std::string entry(const std::string& dtype, const std::string& shape, const std::string& offsets) {
  return R"({"dtype":")" + dtype + R"(","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}";
}
const std::string kEightBytes(8, '\x01');

struct BadFile {
  const char* what;
  std::string bytes;
  const char* problem;  // expected in the message
};

std::vector<BadFile> bad_files() {
  const std::string a = entry("F32", "[2]", "[0,8]");
  return {
      {"an empty file", "", "truncated: 0 bytes"},
      {"a file shorter than the length field", std::string("\x05\x00\x00", 3), "truncated: 3 bytes"},
      {"a header length larger than the file", with_length(100, "{}"), "header length 100 is larger than the file"},
      {"a header length of 2^64 - 1", with_length(~0ull, "{}"), "is larger than the file"},
      {"invalid JSON", file_of(R"({"a":)", ""), "invalid JSON header"},
      {"a header that is not an object", file_of("[1,2]", ""), "must be an object"},
      {"a duplicate tensor name", file_of(R"({"a":)" + a + R"(,"a":)" + a + "}", kEightBytes), "duplicate key \"a\""},
      {"a duplicate field", file_of(R"({"a":{"dtype":"F32","dtype":"F64","shape":[2],"data_offsets":[0,8]}})", kEightBytes),
       "duplicate key \"dtype\""},
      {"a duplicate metadata key", file_of(R"({"__metadata__":{"k":"1","k":"2"}})", ""), "duplicate key \"k\""},
      {"an unknown dtype", file_of(R"({"a":)" + entry("F33", "[2]", "[0,8]") + "}", kEightBytes), "unknown dtype \"F33\""},
      {"an unsupported dtype", file_of(R"({"a":)" + entry("F16", "[4]", "[0,8]") + "}", kEightBytes),
       "dtype F16 is not supported"},
      {"a dtype that is not a string", file_of(R"({"a":{"dtype":4,"shape":[2],"data_offsets":[0,8]}})", kEightBytes),
       "dtype must be a string"},
      {"a negative dimension", file_of(R"({"a":)" + entry("F32", "[-2]", "[0,8]") + "}", kEightBytes),
       "shape must hold non-negative integers, found -2"},
      {"a fractional dimension", file_of(R"({"a":)" + entry("F32", "[2.0]", "[0,8]") + "}", kEightBytes),
       "shape must hold non-negative integers, found 2.0"},
      {"a negative offset", file_of(R"({"a":)" + entry("F32", "[2]", "[-1,7]") + "}", kEightBytes),
       "data_offsets must hold non-negative integers, found -1"},
      {"offsets past the end of the file", file_of(R"({"a":)" + entry("F32", "[4]", "[0,16]") + "}", kEightBytes),
       "data_offsets [0, 16] run past the data section (8 bytes): truncated file?"},
      {"offsets that end before they begin", file_of(R"({"a":)" + entry("F32", "[0]", "[8,0]") + "}", kEightBytes),
       "end before they begin"},
      {"offsets not matching dtype and shape", file_of(R"({"a":)" + entry("F32", "[3]", "[0,8]") + "}", kEightBytes),
       "data_offsets [0, 8] hold 8 bytes but F32 (3,) needs 12"},
      {"offsets that are not a pair", file_of(R"({"a":)" + entry("F32", "[2]", "[0]") + "}", kEightBytes),
       "data_offsets must be [begin, end]"},
      {"overlapping tensors",
       file_of(R"({"a":)" + a + R"(,"b":)" + entry("F32", "[2]", "[4,12]") + "}", std::string(12, '\0')),
       "tensors 'a' [0, 8] and 'b' [4, 12] overlap"},
      {"a gap between tensors",
       file_of(R"({"a":)" + a + R"(,"b":)" + entry("F32", "[2]", "[12,20]") + "}", std::string(20, '\0')),
       "bytes [8, 12) of the data section belong to no tensor"},
      {"trailing bytes", file_of(R"({"a":)" + a + "}", std::string(12, '\0')),
       "the data section holds 12 bytes but its tensors use 8"},
      {"a missing field", file_of(R"({"a":{"dtype":"F32","shape":[2]}})", kEightBytes), "missing field \"data_offsets\""},
      {"an unexpected field",
       file_of(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"foo":1}})", kEightBytes),
       "unexpected field \"foo\""},
      {"an entry that is not an object", file_of(R"({"a":5})", ""), "entry must be an object"},
      {"metadata that is not an object", file_of(R"({"__metadata__":[]})", ""), "__metadata__ must be an object"},
      {"a metadata value that is not a string", file_of(R"({"__metadata__":{"step":7}})", ""),
       "__metadata__ \"step\" must be a string"},
      {"a shape whose size overflows",
       file_of(R"({"a":)" + entry("F32", "[4611686018427387904,4611686018427387904]", "[0,8]") + "}", kEightBytes),
       "is too large"},
      {"a dimension beyond int64", file_of(R"({"a":)" + entry("F32", "[0,9223372036854775808]", "[0,0]") + "}", ""),
       "is too large"},
      {"deeply nested JSON", file_of(R"({"__metadata__":)" + std::string(50, '[') + std::string(50, ']') + "}", ""),
       "nested deeper than"},
      {"an I64 value outside the i32 range",
       file_of(R"({"a":)" + entry("I64", "[1]", "[0,8]") + "}", std::string("\x00\x00\x00\x00\x01\x00\x00\x00", 8)),
       "holds 4294967296, outside the i32 range"},
  };
}

}  // namespace

TEST_CASE("safetensors round-trips f32, f64 and i32 tensors, scalars, empty tensors and metadata bit for bit") {
  TempDir dir;
  const NamedTensors tensors = {
      {"encoder.layers.0.self_attn.q_proj.weight", Tensor::from<float>({2, 3}, {1.5f, -2, 3e-38f, 4, 5, 6})},
      {"scalar", Tensor::scalar(DType::f64, 0.1)},
      {"empty", Tensor::zeros(DType::f32, {0, 3})},
      {"ids", Tensor::from<std::int32_t>({3}, {-7, 0, 2147483647})},
  };
  save_safetensors(dir.file("t.safetensors"), tensors, {{"note", "héllo \"quoted\""}, {"step", "3"}});
  const SafetensorsFile f = load_safetensors(dir.file("t.safetensors"));
  CHECK(f.metadata == Metadata{{"note", "héllo \"quoted\""}, {"step", "3"}});
  REQUIRE(f.tensors.size() == tensors.size());
  for (const auto& [name, t] : tensors) {
    INFO(name);
    REQUIRE(f.find(name) != nullptr);
    CHECK(f.find(name)->bit_equal(t));
  }
  CHECK(f.find("absent") == nullptr);
  // The data section starts 8-byte aligned (the header is padded with spaces).
  const std::string bytes = read_bytes(dir.file("t.safetensors"));
  std::uint64_t header_length = 0;
  std::memcpy(&header_length, bytes.data(), 8);
  CHECK((8 + header_length) % 8 == 0);
}

TEST_CASE("safetensors reads a file with no tensors and I64 values as i32") {
  TempDir dir;
  write_bytes(dir.file("empty"), file_of("{}", ""));
  CHECK(load_safetensors(dir.file("empty")).tensors.empty());
  const std::string values("\xff\xff\xff\xff\xff\xff\xff\xff\x05\x00\x00\x00\x00\x00\x00\x00", 16);  // -1, 5
  write_bytes(dir.file("ids"), file_of(R"({"ids":)" + entry("I64", "[2]", "[0,16]") + "}  ", values));
  const SafetensorsFile f = load_safetensors(dir.file("ids"));
  CHECK(f.find("ids")->bit_equal(Tensor::from<std::int32_t>({2}, {-1, 5})));
}

TEST_CASE("safetensors refuses every malformed file with a FileError naming the file and the problem") {
  TempDir dir;
  for (const BadFile& bad : bad_files()) {
    INFO(std::string(bad.what));
    const std::string path = dir.file("bad.safetensors");
    write_bytes(path, bad.bytes);
    try {
      load_safetensors(path);
      FAIL("accepted");
    } catch (const FileError& e) {
      const std::string message = e.what();
      CHECK_MESSAGE(message.find(path) != std::string::npos, message);
      CHECK_MESSAGE(message.find(bad.problem) != std::string::npos, message);
    }
  }
}

TEST_CASE("safetensors refuses a missing file and a directory") {
  TempDir dir;
  CHECK_THROWS_WITH_AS(load_safetensors(dir.file("absent")), doctest::Contains("cannot open"), FileError);
  CHECK_THROWS_WITH_AS(load_safetensors(dir.path().string()), doctest::Contains("not a regular file"), FileError);
}

TEST_CASE("every truncation and every corrupted byte of a file is refused or read, never a crash") {
  TempDir dir;
  save_safetensors(dir.file("good"), {{"w", Tensor::from<float>({2, 2}, {1, 2, 3, 4})}, {"b", Tensor::zeros(DType::f64, {3})}},
                   {{"step", "1"}});
  const std::string good = read_bytes(dir.file("good"));
  for (std::size_t n = 0; n < good.size(); ++n) {
    write_bytes(dir.file("cut"), good.substr(0, n));
    CHECK_THROWS_AS(load_safetensors(dir.file("cut")), FileError);
  }
  int refused = 0;
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (char flip : {'\x01', '\x80', '\xff'}) {
      std::string bytes = good;
      bytes[i] = static_cast<char>(bytes[i] ^ flip);
      write_bytes(dir.file("flipped"), bytes);
      try {
        load_safetensors(dir.file("flipped"));
      } catch (const FileError&) {
        ++refused;
      }
    }
  }
  CHECK(refused > 0);
}

TEST_CASE("save_safetensors refuses duplicate, empty and reserved names") {
  TempDir dir;
  const Tensor t = Tensor::zeros(DType::f32, {1});
  CHECK_THROWS_WITH_AS(save_safetensors(dir.file("x"), {{"a", t}, {"a", t}}), doctest::Contains("duplicate tensor name 'a'"),
                       Error);
  CHECK_THROWS_WITH_AS(save_safetensors(dir.file("x"), {{"", t}}), doctest::Contains("invalid tensor name"), Error);
  CHECK_THROWS_WITH_AS(save_safetensors(dir.file("x"), {{"__metadata__", t}}), doctest::Contains("invalid tensor name"),
                       Error);
  CHECK(dir.entries().empty());
}
