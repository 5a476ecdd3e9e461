// attograd attention TASK --load PATH --input "..." --out FILE [--layers 0,1] [--heads 0,3] [--json FILE]
//
// Decodes the input greedily, then draws the attention weights of that
// example: one picture per kind (encoder, decoder, cross), next to FILE with
// the kind appended ("attn.svg" -> "attn_cross_attention.svg"), and writes
// every layer's raw weights as JSON (default: FILE with .json).
#include <filesystem>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/attention_export.hpp"
#include "cli/commands.hpp"
#include "cli/loaded_model.hpp"
#include "viz/attention_json.hpp"
#include "viz/output.hpp"

namespace attograd {
namespace {

struct AttentionArgs {
  std::string task, load, input, out, json;
  AttentionPlotOptions plot;
  double png_scale = 1.0;
  int threads = 0;
};

void run_attention(const AttentionArgs& a) {
  check_drawing_path(a.out);
  LoadedSeq2Seq m = load_seq2seq(a.load, a.task, a.threads);
  const DecodedAttention d = decoded_attention(*m.model, *m.task, m.task->encode_source(a.input));
  fmt::print("input:  {}\noutput: {}\n", a.input, m.task->decode_target(d.decoded));
  for (const std::filesystem::path& p : save_attention_plots(d.maps, a.out, a.plot, a.png_scale))
    fmt::print("picture: {}\n", p.string());
  const std::filesystem::path json = a.json.empty() ? std::filesystem::path(a.out).replace_extension(".json")
                                                    : std::filesystem::path(a.json);
  write_attention_json(d.maps, json);
  fmt::print("weights: {}\n", json.string());
}

}  // namespace

void add_attention_command(CLI::App& app) {
  auto a = std::make_shared<AttentionArgs>();
  CLI::App* cmd = app.add_subcommand("attention", "draw the attention weights of a decoded example (every layer and head)");
  cmd->add_option("task", a->task, "task: copy or numbers")->required()->check(CLI::IsMember({"copy", "numbers"}));
  cmd->add_option("--load", a->load, "checkpoint written by `attograd train --save`")->required()->check(CLI::ExistingFile);
  cmd->add_option("--input", a->input, "the source, as the task writes it: \"1 2 3 4\" (copy), \"1234\" (numbers)")
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
  cmd->callback([a] { run_attention(*a); });
}

}  // namespace attograd
