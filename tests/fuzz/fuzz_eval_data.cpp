// libFuzzer target: an `attograd eval TASK --data FILE` file, read as each
// task reads it: examples ("source<TAB>target" lines, parse_examples) for
// copy and numbers, batched as eval batches them; text for lm, encoded with
// a model's alphabet and cut into windows. Any input must give examples or
// an Error whose message stays short (it quotes excerpts, never the input).
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "app/lm.hpp"
#include "app/tasks/examples_file.hpp"
#include "engine/error.hpp"

namespace {

constexpr std::size_t kLongestMessage = 500;

void check_message(const attograd::Error& e) {
  if (std::string(e.what()).size() > kLongestMessage) std::abort();
}

void read_as_examples(const std::string& text, const attograd::Seq2SeqTask& task) {
  using namespace attograd;
  std::istringstream in(text);
  try {
    make_batch(parse_examples(task, in, "fuzz.tsv"));
  } catch (const Error& e) {
    check_message(e);
  }
}

void read_as_corpus(const std::string& text) {
  using namespace attograd;
  static const CharVocab vocab("\n !\"'(),-.0123456789:;ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
  try {
    const std::vector<std::int32_t> ids = vocab.encode(text);
    if (ids.size() > 9) sample_lm_batch(ids, 1, 0, 2, 8);
  } catch (const Error& e) {
    check_message(e);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  static const auto copy = attograd::make_task("copy"), numbers = attograd::make_task("numbers");
  read_as_examples(text, *copy);
  read_as_examples(text, *numbers);
  read_as_corpus(text);
  return 0;
}
