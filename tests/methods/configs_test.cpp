// Every YAML file shipped in configs/ loads into its command's config (no unknown key, no wrong
// type) and passes the same validation the command runs, so a user never starts from a broken
// example. The command follows the file name: relmask-*, prompt-*, schubert-*, finetune-*,
// distill-* and test-distill; anything else is pretrain.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/config_io.h"
#include "methods/distill/distill_config.h"
#include "methods/finetune/finetune_config.h"
#include "methods/pretrain/pretrain_config.h"
#include "methods/prompt/prompt_config.h"
#include "methods/prompt/prompt_task_config.h"
#include "methods/relmask/relmask_config.h"
#include "methods/schubert/schubert_config.h"
#include "support/test_support.h"

namespace kd::methods {
namespace {

template <class T>
void load_and_validate(const std::string& path) {
  auto c = config::load<T>(path, {});
  c.validate();
}

TEST(Configs, EveryShippedConfigLoadsAndValidates) {
  namespace fs = std::filesystem;
  int checked = 0;
  for (const auto& e : fs::directory_iterator(test::source_path("configs"))) {
    if (e.path().extension() != ".yaml") continue;
    const std::string name = e.path().filename().string(), path = e.path().string();
    SCOPED_TRACE(name);
    // Campaign files (*-campaign.yaml) are planned by a dry run in tests/e2e/campaign_test.sh.
    if (name.find("-campaign.yaml") != std::string::npos) continue;
    if (name.rfind("relmask-", 0) == 0) {
      EXPECT_NO_THROW(load_and_validate<RelmaskConfig>(path));
    } else if (name.rfind("prompt-task-", 0) == 0) {
      EXPECT_NO_THROW(load_and_validate<PromptTaskConfig>(path));
    } else if (name.rfind("prompt-", 0) == 0) {
      EXPECT_NO_THROW(load_and_validate<PromptConfig>(path));
      EXPECT_NO_THROW(prompt::validate(config::load<PromptConfig>(path, {}).prompt));
    } else if (name.rfind("finetune-", 0) == 0) {
      EXPECT_NO_THROW(load_and_validate<FinetuneConfig>(path));
    } else if (name.rfind("schubert-", 0) == 0) {
      EXPECT_NO_THROW(load_and_validate<SchubertConfig>(path));
    } else if (name.rfind("distill-", 0) == 0 || name == "test-distill.yaml") {
      EXPECT_NO_THROW(load_and_validate<DistillConfig>(path));
    } else {
      EXPECT_NO_THROW(load_and_validate<PretrainConfig>(path));
    }
    ++checked;
  }
  EXPECT_GE(checked, 18);
}

TEST(Configs, AnUnknownKeyIsRejected) {
  const auto dir = test::temp_dir("configs");
  const auto path = dir + "/bad.yaml";
  FILE* f = std::fopen(path.c_str(), "w");
  std::fputs("prompt:\n  lenght: 5\n", f);
  std::fclose(f);
  EXPECT_THROW(config::load<PromptConfig>(path, {}), kd::Error);
}

// Loading runs every section's validate(): a bad value fails at load, before any work, naming
// the key and the allowed values.
template <class T>
std::string load_error(const std::string& config, const std::vector<std::string>& sets) {
  try {
    config::load<T>(test::source_path("configs/" + config), sets, "kdprune test");
  } catch (const kd::Error& e) {
    return e.what();
  }
  return "";
}

TEST(Configs, EverySectionValidatesOnLoad) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      // error, expected message
      {load_error<RelmaskConfig>("relmask-quickstart.yaml", {"masks.kind=magic"}),
       "masks.kind must be deterministic or stochastic (got 'magic')"},
      {load_error<RelmaskConfig>("relmask-quickstart.yaml", {"masks.threshold=1.5"}),
       "masks.threshold must be in (0, 1)"},
      {load_error<RelmaskConfig>("relmask-quickstart.yaml", {"probes.batch_size=0"}),
       "probes.batch_size must be >= 1"},
      {load_error<PromptConfig>("prompt-quickstart.yaml", {"resume=runs/x/checkpoints/step_1"}),
       "resume must be auto or never for relmask, prompt and finetune"},
      {load_error<FinetuneConfig>("finetune-quickstart.yaml", {"finetune.seeds=[1,1]"}),
       "finetune.seeds lists a seed twice"},
      {load_error<FinetuneConfig>("finetune-quickstart.yaml", {"finetune.models=[]"}),
       "finetune.models is empty"},
      {load_error<FinetuneConfig>("finetune-embedded.yaml", {"finetune.labels=[a,a,b,c,d]"}),
       "finetune.labels names a model twice"},
      {load_error<FinetuneConfig>("finetune-embedded.yaml", {"finetune.labels=[a]"}),
       "finetune.labels has 1 names for 5 models"},
      {load_error<FinetuneConfig>("finetune-quickstart.yaml", {"finetune.dropout=1"}),
       "finetune.dropout must be in [0, 1)"},
      {load_error<PromptConfig>("prompt-quickstart.yaml", {"prompt.combine=max"}),
       "prompt.combine must be mean_prob or vote (got 'max')"},
      {load_error<PromptConfig>("prompt-quickstart.yaml", {"prompt.inits=[class_label]"}),
       "prompt.inits: class_label has no class labels to start from in probing"},
      {load_error<PromptTaskConfig>("prompt-task-spam.yaml", {"prompt.orders=random"}),
       "prompt.orders must be shared or per_prompt (got 'random')"},
      {load_error<PromptTaskConfig>("prompt-task-spam.yaml", {"task.lengths=[5,0]"}),
       "task.lengths: prompt length 0 must be >= 1"},
      {load_error<PretrainConfig>("test-tiny.yaml", {"train.precision=fp16"}),
       "train.precision fp16 is for GPUs"},
      {load_error<DistillConfig>("test-distill.yaml", {"eval.data=[x]"}),
       "'eval.data' was renamed; write 'data.heldout' instead"},
  };
  for (const auto& [error, expected] : cases)
    EXPECT_NE(error.find(expected), std::string::npos) << "got: " << error;
  EXPECT_EQ(load_error<RelmaskConfig>("relmask-quickstart.yaml", {}), "");
}

}  // namespace
}  // namespace kd::methods
