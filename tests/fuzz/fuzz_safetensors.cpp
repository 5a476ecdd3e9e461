// libFuzzer target: a safetensors file (header + tensor table + data) as
// load_safetensors reads it, then as a checkpoint's metadata is checked
// (app/checkpoint_check). Any input must give a value or an Error, never a
// crash, a sanitizer report or a hang. Built by scripts/fuzz.sh.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "app/checkpoint_check.hpp"
#include "engine/error.hpp"
#include "io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/attograd-fuzz-" + std::to_string(::getpid()) + ".safetensors";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    attograd::load_safetensors(path);
  } catch (const attograd::Error&) {
  }
  try {
    attograd::check_checkpoint(path);
  } catch (const attograd::Error&) {
  }
  return 0;
}
