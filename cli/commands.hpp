// The `attograd` subcommands. Each adds itself to the CLI11 app; main()
// parses and runs the one chosen. Spellings are stable: scripts drive them.
#pragma once

namespace CLI {
class App;
}

namespace attograd {

struct TrainOptions;
// The model and run options `train` and `profile` share (--layers, --d-model, ...).
void add_model_options(CLI::App& cmd, TrainOptions& options);

void add_train_command(CLI::App& app);      // attograd train TASK ...
void add_eval_command(CLI::App& app);       // attograd eval TASK --load PATH [--data FILE]
void add_decode_command(CLI::App& app);     // attograd decode TASK --load PATH --input "..."
void add_sample_command(CLI::App& app);     // attograd sample --load PATH --prompt "..."
void add_ops_command(CLI::App& app);        // attograd ops [--plugin PATH]
void add_profile_command(CLI::App& app);    // attograd profile TASK [--steps N] [--trace PATH] [--dot PATH]
void add_attention_command(CLI::App& app);  // attograd attention TASK --load PATH --input "..." --out FILE
void add_plot_command(CLI::App& app);       // attograd plot METRICS... --out FILE [--log-loss]

}  // namespace attograd
