#include "methods/relmask/relation_runner.h"

#include <filesystem>
#include <sstream>

#include "common/file_io.h"
#include "common/log.h"
#include "methods/relmask/relation_split.h"

namespace kd::methods::relmask {
namespace fs = std::filesystem;

nlohmann::json run_relations(const std::vector<std::string>& relations,
                             const std::vector<int64_t>& work, dist::Communicator& comm,
                             const std::string& run_dir, const char* log_tag,
                             const TrainRelation& train) {
  const auto split = split_relations(work, comm.size());
  const int group = split.group_of_rank(comm.rank());
  auto group_comm = comm.split(group, comm.rank());
  log_info(log_tag, "{} relation(s) over {} group(s) of ranks", relations.size(), split.groups);
  const fs::path results = fs::path(run_dir) / "relations";
  fs::create_directories(results);
  std::string mine;  // this group's results (group root only), one JSON per line
  for (size_t r : split.relations_of(group)) {
    const auto& name = relations[r];
    const auto path = (results / (name + ".json")).string();
    nlohmann::json result;
    if (fs::exists(path)) {
      result = nlohmann::json::parse(read_file(path));
      log_all(log_tag, "{}: done in an earlier run, kept", name);
    } else {
      log_all(log_tag, "{}: training with {} rank(s)", name, group_comm->size());
      result = train(r, *group_comm);
      if (group_comm->is_root()) write_file_atomic(path, result.dump(1) + "\n");
    }
    if (group_comm->is_root()) mine += result.dump() + "\n";
  }
  auto all = comm.gather_strings(mine, 0);
  nlohmann::json report = nlohmann::json::array();
  for (const auto& part : all) {
    std::istringstream lines(part);
    for (std::string l; std::getline(lines, l);)
      if (!l.empty()) report.push_back(nlohmann::json::parse(l));
  }
  std::sort(report.begin(), report.end(),
            [](const auto& a, const auto& b) { return a["relation"] < b["relation"]; });
  return report;
}

}  // namespace kd::methods::relmask
