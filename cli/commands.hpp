// The `attograd` subcommands. Each adds itself to the CLI11 app; main()
// parses and runs the one chosen. Spellings are stable: scripts drive them.
#pragma once

namespace CLI {
class App;
class Option;
}

namespace attograd {

struct Setting;
struct TrainOptions;
// The flag of a row of the settings table (app/settings.hpp), writing into
// `options`: `train` adds every row's, `profile` the model options. nullptr
// for a row without a flag.
CLI::Option* add_setting_flag(CLI::App& cmd, const Setting& setting, TrainOptions& options);

// --precision for the commands that run a checkpoint (eval, decode,
// attention, sample), with the settings table's choices; not given (empty):
// the precision the checkpoint was trained in. precision_from_name() reads it.
CLI::Option* add_precision_flag(CLI::App& cmd, std::string& precision);

void add_train_command(CLI::App& app);      // attograd train TASK ...
void add_eval_command(CLI::App& app);       // attograd eval TASK --load PATH [--data FILE]
void add_decode_command(CLI::App& app);     // attograd decode TASK --load PATH --input "..."
void add_sample_command(CLI::App& app);     // attograd sample --load PATH --prompt "..."
void add_ops_command(CLI::App& app);        // attograd ops [--plugin PATH]
void add_profile_command(CLI::App& app);    // attograd profile TASK [--steps N] [--trace PATH] [--dot PATH]
void add_attention_command(CLI::App& app);  // attograd attention TASK --load PATH --input "..." --out FILE
void add_plot_command(CLI::App& app);       // attograd plot METRICS... --out FILE [--log-loss]

}  // namespace attograd
