#include "app/tasks/task.hpp"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

#include "engine/error.hpp"
#include "engine/rng.hpp"

namespace attograd {

std::unique_ptr<Seq2SeqTask> make_copy_task();
std::unique_ptr<Seq2SeqTask> make_numbers_task();

Vocab::Vocab(const std::vector<std::string>& words) : words_{"<pad>", "<s>", "</s>"} {
  words_.insert(words_.end(), words.begin(), words.end());
}

std::int32_t Vocab::id(const std::string& word) const {
  auto it = std::find(words_.begin(), words_.end(), word);
  if (it == words_.end()) throw Error(fmt::format("[vocab] unknown token '{}'", excerpt(word)));
  return static_cast<std::int32_t>(it - words_.begin());
}

const std::string& Vocab::word(std::int32_t id) const {
  if (id < 0 || id >= size()) throw Error(fmt::format("[vocab] id {} is outside the vocabulary of {}", id, size()));
  return words_[static_cast<std::size_t>(id)];
}

std::unique_ptr<Seq2SeqTask> make_task(const std::string& name) {
  if (name == "copy") return make_copy_task();
  if (name == "numbers") return make_numbers_task();
  throw Error(fmt::format("[task] unknown task '{}'; known tasks: copy, numbers", name));
}

Batch make_batch(const std::vector<Example>& examples) {
  if (examples.empty()) throw Error("[batch] no examples");
  std::size_t s = 0, t = 0;
  for (const Example& e : examples) {
    s = std::max(s, e.src.size());
    t = std::max(t, e.tgt.size() - 1);
  }
  const auto b = static_cast<std::int64_t>(examples.size());
  Batch batch{Tensor::zeros(DType::i32, {b, static_cast<std::int64_t>(s)}),
              Tensor::zeros(DType::i32, {b, static_cast<std::int64_t>(t)}),
              Tensor::zeros(DType::i32, {b, static_cast<std::int64_t>(t)}), 0};
  std::int32_t* src = batch.src.data<std::int32_t>();
  std::int32_t* tin = batch.tgt_in.data<std::int32_t>();
  std::int32_t* tout = batch.tgt_out.data<std::int32_t>();
  for (std::size_t i = 0; i < examples.size(); ++i) {
    const Example& e = examples[i];
    std::copy(e.src.begin(), e.src.end(), src + i * s);
    std::copy(e.tgt.begin(), e.tgt.end() - 1, tin + i * t);
    std::copy(e.tgt.begin() + 1, e.tgt.end(), tout + i * t);
    for (std::size_t k = 1; k < e.tgt.size(); ++k) batch.target_tokens += e.tgt[k] != 0;
  }
  return batch;
}

std::vector<Example> sample_examples(const Seq2SeqTask& task, std::uint64_t seed, std::uint64_t index, std::int64_t size) {
  std::mt19937_64 rng(mix_keys(seed, index));
  std::vector<Example> examples;
  for (std::int64_t i = 0; i < size; ++i) examples.push_back(task.sample(rng));
  return examples;
}

Batch sample_batch(const Seq2SeqTask& task, std::uint64_t seed, std::uint64_t index, std::int64_t size) {
  return make_batch(sample_examples(task, seed, index, size));
}

std::vector<std::string> split_words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

}  // namespace attograd
