// attograd attention TASK --load PATH --input "..." --out FILE [--layers 0,1] [--heads 0,3] [--json FILE]
//
// Decodes the input greedily, then draws the attention weights of that
// example (lm: the causal self-attention over the input text): one picture
// per kind (encoder, decoder, cross), next to FILE with
// the kind appended ("attn.svg" -> "attn_cross_attention.svg"), and writes
// every layer's raw weights as JSON (default: FILE with .json).
#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "app/attention_export.hpp"
#include "cli/commands.hpp"
#include "app/loaded_model.hpp"
#include "app/tasks/registry.hpp"
#include "viz/attention_json.hpp"
#include "viz/output.hpp"

namespace attograd {
namespace {

struct AttentionArgs {
  std::string task, load, input, out, json, precision;
  AttentionPlotOptions plot;
  double png_scale = 1.0;
  int threads = 0;
};

// A character as an axis label: itself if printable, else a visible stand-in.
std::string char_label(char c) {
  if (c == ' ') return "\u2423";   // open box
  if (c == '\n') return "\u23CE";  // return symbol
  if (c == '\t') return "\u21E5";  // tab arrow
  const auto byte = static_cast<unsigned char>(c);
  if (byte < 0x20 || byte >= 0x7F) return fmt::format("\\x{:02X}", byte);
  return std::string(1, c);
}

// The lm task: each layer's causal self-attention over the input text (its
// last 128 characters), queries = keys = its characters.
std::vector<AttentionMap> lm_attention(const AttentionArgs& a) {
  LoadedLm m = load_lm(a.load, a.threads, precision_from_name(a.precision));
  const std::vector<Tensor> layers = m.model->attention(a.input);
  const std::string text = a.input.substr(a.input.size() - static_cast<std::size_t>(layers.at(0).shape()[1]));
  std::vector<std::string> chars;
  for (char c : text) chars.push_back(char_label(c));
  std::vector<AttentionMap> maps;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const Tensor w = layers[i].to(DType::f32);
    AttentionMap map{AttentionKind::decoder_self, static_cast<int>(i), chars, chars, static_cast<int>(w.shape()[0]),
                     {w.data<float>(), w.data<float>() + w.numel()}};
    check_attention_map(map);
    maps.push_back(std::move(map));
  }
  fmt::print("input:  {}\n", text);
  return maps;
}

std::vector<AttentionMap> seq2seq_attention(const AttentionArgs& a) {
  LoadedSeq2Seq m = load_seq2seq(a.load, a.task, a.threads, precision_from_name(a.precision));
  DecodedAttention d = decoded_attention(*m.model, *m.task, m.task->encode_source(a.input));
  fmt::print("input:  {}\noutput: {}\n", a.input, m.task->decode_target(d.decoded));
  return std::move(d.maps);
}

void run_attention(const AttentionArgs& a) {
  check_drawing_path(a.out);
  const bool language_model = find_task(a.task).model() == ModelKind::language_model;
  const std::vector<AttentionMap> maps = language_model ? lm_attention(a) : seq2seq_attention(a);
  for (const std::filesystem::path& p : save_attention_plots(maps, a.out, a.plot, a.png_scale))
    fmt::print("picture: {}\n", p.string());
  const std::filesystem::path json = a.json.empty() ? std::filesystem::path(a.out).replace_extension(".json")
                                                    : std::filesystem::path(a.json);
  write_attention_json(maps, json);
  fmt::print("weights: {}\n", json.string());
}

}  // namespace

void add_attention_command(CLI::App& app) {
  auto a = std::make_shared<AttentionArgs>();
  CLI::App* cmd = app.add_subcommand("attention", "draw the attention weights of a decoded example (every layer and head)");
  cmd->add_option("task", a->task, "task: copy, numbers or lm")->required()->check(CLI::IsMember(task_names()));
  cmd->add_option("--load", a->load, "checkpoint written by `attograd train --save`")->required()->check(CLI::ExistingFile);
  cmd->add_option("--input", a->input,
                  "the source, as the task writes it: \"1 2 3 4\" (copy), \"1234\" (numbers); lm: text (its last 128 "
                  "characters)")
      ->required();
  cmd->add_option("--out", a->out, "picture path (.svg or .png); one file per kind, the kind appended to the name")
      ->required();
  cmd->add_option("--layers", a->plot.layers, "layers to draw, e.g. 0,1 (default: all)")
      ->delimiter(',')
      ->check(CLI::Range(0, 1 << 16));
  cmd->add_option("--heads", a->plot.heads, "heads to draw, e.g. 0,3 (default: all)")
      ->delimiter(',')
      ->check(CLI::Range(0, 1 << 16));
  cmd->add_option("--json", a->json, "write every layer's weights here (default: --out with .json)");
  cmd->add_option("--png-scale", a->png_scale, "pixels per SVG unit for .png output")->check(CLI::Range(0.1, 16.0));
  cmd->add_option("--threads", a->threads, "worker threads (0 = all cores)")->check(CLI::Range(0, 1024));
  add_precision_flag(*cmd, a->precision);
  cmd->callback([a] { run_attention(*a); });
}

}  // namespace attograd
