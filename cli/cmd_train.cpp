// attograd train TASK [options]
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "app/trainer.hpp"

namespace attograd {

void add_model_options(CLI::App& cmd, TrainOptions& o) {
  cmd.add_option("--layers", o.layers, "encoder and decoder layers N (default: the task's)")->check(CLI::Range(1, 64));
  cmd.add_option("--d-model", o.d_model, "model width D")->check(CLI::Range(2, 65536));
  cmd.add_option("--heads", o.heads, "attention heads H (must divide D)")->check(CLI::Range(1, 1024));
  cmd.add_option("--d-ff", o.d_ff, "feed-forward width F")->check(CLI::Range(1, 262144));
  cmd.add_option("--dropout", o.dropout, "dropout probability")->check(CLI::Range(0.0, 0.99));
  cmd.add_option("--label-smoothing", o.label_smoothing, "label smoothing epsilon")->check(CLI::Range(0.0, 0.99));
  cmd.add_option("--norm", o.norm, "residual placement: pre (Annotated Transformer) or post (the paper)")
      ->check(CLI::IsMember({"pre", "post"}));
  cmd.add_option("--activation", o.activation, "feed-forward activation")->check(CLI::IsMember({"relu", "gelu"}));
  cmd.add_option("--batch", o.batch, "sequences per batch")->check(CLI::Range(1, 1 << 20));
  cmd.add_option("--seed", o.seed, "seed for parameters, data and dropout");
  cmd.add_option("--threads", o.threads, "worker threads (0 = all cores)")->check(CLI::Range(0, 1024));
}

void add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App* cmd = app.add_subcommand("train", "train a task's model (copy, numbers, lm)");
  cmd->add_option("task", o->task, "task: copy, numbers or lm")->required()->check(CLI::IsMember({"copy", "numbers", "lm"}));
  add_model_options(*cmd, *o);
  auto* steps = cmd->add_option("--steps", o->steps, "optimizer steps (default: the task's)")->check(CLI::Range(1, 1 << 30));
  cmd->add_option("--epochs", o->epochs, "epochs of --steps-per-epoch steps")->check(CLI::Range(1, 1 << 20))->excludes(steps);
  cmd->add_option("--steps-per-epoch", o->steps_per_epoch, "steps per epoch (default 20)")->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--lr-schedule", o->lr_schedule, "noam, constant, cosine or inverse-sqrt")
      ->check(CLI::IsMember({"noam", "constant", "cosine", "inverse-sqrt"}));
  cmd->add_option("--lr", o->lr, "base learning rate (noam: its factor; default: the task's)")->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--warmup", o->warmup, "warmup steps")->check(CLI::Range(0, 1 << 30));
  cmd->add_option("--optimizer", o->optimizer, "adam, adamw or sgd")->check(CLI::IsMember({"adam", "adamw", "sgd"}));
  cmd->add_option("--beta1", o->beta1, "Adam beta1 (sgd: momentum)")->check(CLI::Range(0.0, 0.999999));
  cmd->add_option("--beta2", o->beta2, "Adam beta2")->check(CLI::Range(0.0, 0.999999));
  cmd->add_option("--eps", o->eps, "Adam epsilon")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--weight-decay", o->weight_decay, "weight decay (default: 0.01 for adamw, as PyTorch; 0 otherwise)")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--clip", o->clip, "clip gradients to this global L2 norm (0 = off)")->check(CLI::Range(0.0, 1e9));
  cmd->add_option("--accumulate", o->accumulate, "micro-batches per optimizer step")->check(CLI::Range(1, 1024));
  cmd->add_option("--eval-every", o->eval_every, "evaluate every N steps (0: every epoch)")->check(CLI::Range(0, 1 << 30));
  cmd->add_flag("--check-numerics", o->check_numerics, "stop at the first node producing NaN/Inf and name it");
  cmd->add_flag("--quiet", o->quiet, "no progress bar");
  cmd->add_option("--save", o->save, "write a checkpoint (safetensors) here at the end and after every evaluation");
  cmd->add_option("--resume", o->resume,
                  "continue from this checkpoint exactly, with its model, data, seed, optimizer and schedule "
                  "(only --steps/--epochs and output flags may change)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--metrics", o->metrics, "append one JSON object per step/evaluation to this file");
  cmd->add_option("--plot", o->plot, "draw the training curves here at the end (.svg or .png)");
  cmd->add_option("--data", o->data, "lm: the text to learn (default: /usr/share/common-licenses/GPL-3)")
      ->check(CLI::ExistingFile);
  cmd->callback([o, cmd] {
    for (const CLI::Option* opt : cmd->get_options())
      if (opt->count() > 0 && !opt->get_lnames().empty()) o->given.insert("--" + opt->get_lnames().front());
    train(*o);
  });
}

}  // namespace attograd
