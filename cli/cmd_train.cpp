// attograd train TASK [options]: one flag per row of the settings table
// (app/settings.cpp), which also says what --resume may change.
#include <type_traits>

#include <CLI/CLI.hpp>

#include "app/tasks/registry.hpp"
#include "app/trainer.hpp"
#include "cli/commands.hpp"
#include "cli/validators.hpp"

namespace attograd {
namespace {

template <class T> struct ValueOf { using type = T; };
template <class T> struct ValueOf<std::optional<T>> { using type = T; };

// The row's check as a CLI11 validator on a value of type V. Ranges compare
// in int or double, so --help reads "INT in [1 - 64]" or "FLOAT in [0 - 0.99]".
template <class V> void add_check(CLI::Option& option, const FlagCheck& check) {
  if constexpr (std::is_arithmetic_v<V>) {
    if (check.range && std::is_integral_v<V>)
      option.check(CLI::Range(static_cast<int>(check.range->first), static_cast<int>(check.range->second)));
    else if (check.range)
      option.check(Finite)->check(CLI::Range(check.range->first, check.range->second));
  }
  if (!check.one_of.empty()) option.check(CLI::IsMember(check.one_of));
  if (check.existing_file) option.check(CLI::ExistingFile);
}

}  // namespace

CLI::Option* add_setting_flag(CLI::App& cmd, const Setting& setting, TrainOptions& options) {
  return std::visit(
      [&](auto member) -> CLI::Option* {
        if constexpr (std::is_same_v<decltype(member), std::monostate>) {
          return nullptr;  // a setting only checkpoints hold
        } else {
          auto& field = options.*member;
          using Field = std::remove_reference_t<decltype(field)>;
          if constexpr (std::is_same_v<Field, bool>) {
            return cmd.add_flag(setting.flag, field, setting.help);
          } else {
            CLI::Option* option = cmd.add_option(setting.flag, field, setting.help);
            add_check<typename ValueOf<Field>::type>(*option, setting.check);
            return option;
          }
        }
      },
      setting.option);
}

CLI::Option* add_precision_flag(CLI::App& cmd, std::string& precision) {
  const Setting& s = *find_setting("--precision");
  return cmd.add_option(s.flag, precision, s.help + " (default: the precision the checkpoint was trained in)")
      ->check(CLI::IsMember(s.check.one_of));
}

void add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App* cmd = app.add_subcommand("train", "train a task's model (copy, numbers, lm)");
  cmd->add_option("task", o->task, "task: copy, numbers or lm")->required()->check(CLI::IsMember(task_names()));
  std::vector<std::pair<const Setting*, CLI::Option*>> flags;
  for (const Setting& s : train_settings())
    if (CLI::Option* option = add_setting_flag(*cmd, s, *o)) flags.emplace_back(&s, option);
  for (const auto& [setting, option] : flags)
    if (!setting->excludes.empty()) option->excludes(cmd->get_option(setting->excludes));
  cmd->callback([o, flags] {
    for (const auto& [setting, option] : flags)
      if (option->count() > 0) o->given.insert(setting->flag);
    train(*o);
  });
}

}  // namespace attograd
