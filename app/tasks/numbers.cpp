// Number-to-words translation, generated on the fly:
//   source "1234" (one token per digit) -> target "one thousand two hundred thirty four".
// Numbers 0..999999; the digit count is drawn uniformly first so that short
// and long numbers are equally common. Structure the model must learn:
// place value, the teens, tens words and "hundred"/"thousand" insertion.
#include <fmt/format.h>

#include "app/tasks/task.hpp"
#include "engine/error.hpp"

namespace attograd {
namespace {

const std::vector<std::string> kOnes = {"zero", "one", "two",   "three", "four",  "five",     "six",
                                        "seven", "eight", "nine", "ten",  "eleven", "twelve", "thirteen",
                                        "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
const std::vector<std::string> kTens = {"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};

void below_thousand(int n, std::vector<std::string>& out) {
  if (n >= 100) {
    out.push_back(kOnes[static_cast<std::size_t>(n / 100)]);
    out.push_back("hundred");
    n %= 100;
    if (n == 0) return;
  }
  if (n >= 20) {
    out.push_back(kTens[static_cast<std::size_t>(n / 10)]);
    if (n % 10) out.push_back(kOnes[static_cast<std::size_t>(n % 10)]);
  } else {
    out.push_back(kOnes[static_cast<std::size_t>(n)]);
  }
}

std::vector<std::string> words_of(int n) {
  std::vector<std::string> out;
  if (n == 0) return {"zero"};
  if (n >= 1000) {
    below_thousand(n / 1000, out);
    out.push_back("thousand");
    n %= 1000;
    if (n == 0) return out;
  }
  below_thousand(n, out);
  return out;
}

std::vector<std::string> all_words() {
  std::vector<std::string> w(kOnes.begin(), kOnes.end());
  for (std::size_t i = 2; i < kTens.size(); ++i) w.push_back(kTens[i]);
  w.push_back("hundred");
  w.push_back("thousand");
  return w;
}

class NumbersTask final : public Seq2SeqTask {
 public:
  NumbersTask() : digits_({"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}), words_(all_words()) {}

  std::string name() const override { return "numbers"; }
  std::string summary() const override { return "translate numbers 0..999999 into English words"; }
  std::int64_t src_vocab() const override { return digits_.size(); }
  std::int64_t tgt_vocab() const override { return words_.size(); }
  std::int32_t bos() const override { return Vocab::bos; }
  std::int32_t eos() const override { return Vocab::eos; }

  Example sample(std::mt19937_64& rng) const override {
    const int length = std::uniform_int_distribution<int>(1, 6)(rng);
    int low = 1, high = 9;
    for (int i = 1; i < length; ++i) low *= 10, high = high * 10 + 9;
    if (length == 1) low = 0;
    const int n = std::uniform_int_distribution<int>(low, high)(rng);
    return {encode_source(std::to_string(n)), encode_target(fmt::format("{}", fmt::join(words_of(n), " ")))};
  }
  std::int64_t max_target_length(const TokenIds&) const override { return 12; }

  TokenIds encode_source(const std::string& text) const override {
    TokenIds ids;
    for (char c : text) {
      if (c == ' ') continue;
      if (c < '0' || c > '9') throw Error(fmt::format("[numbers] '{}' is not a digit in \"{}\"", c, excerpt(text)));
      ids.push_back(digits_.id(std::string(1, c)));
    }
    if (ids.empty() || ids.size() > 6) throw Error(fmt::format("[numbers] \"{}\" must have 1 to 6 digits", excerpt(text)));
    return ids;
  }
  TokenIds encode_target(const std::string& text) const override {
    TokenIds ids{Vocab::bos};
    for (const std::string& w : split_words(text)) ids.push_back(words_.id(w));
    ids.push_back(Vocab::eos);
    return ids;
  }
  std::string decode_target(const TokenIds& ids) const override {
    std::vector<std::string> out;
    for (auto id : ids)
      if (id > Vocab::eos) out.push_back(words_.word(id));
    return fmt::format("{}", fmt::join(out, " "));
  }
  std::string token_text(std::int32_t id, Side side) const override {
    return side == Side::source ? digits_.word(id) : words_.word(id);
  }

  TaskDefaults defaults() const override {
    TaskDefaults d;
    d.layers = 2;
    d.d_model = 128;
    d.heads = 4;
    d.d_ff = 512;
    d.dropout = 0.1;
    d.batch = 64;
    d.steps = 600;
    d.warmup = 200;
    d.lr_factor = 0.5;
    d.label_smoothing = 0.1;
    d.decode_example = "40213";
    return d;
  }

 private:
  Vocab digits_;
  Vocab words_;
};

}  // namespace

std::unique_ptr<Seq2SeqTask> make_numbers_task() { return std::make_unique<NumbersTask>(); }

// Exposed for tests: the reference spelling.
std::string number_to_words(int n) { return fmt::format("{}", fmt::join(words_of(n), " ")); }

}  // namespace attograd
