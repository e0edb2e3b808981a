#include "common/command_registry.h"

#include <algorithm>
#include <map>
#include <stdexcept>

namespace kd::cli {
namespace {
// A function-local static: registrations run during static initialisation of other files.
std::map<std::string, std::vector<CommandEntry>>& registry() {
  static std::map<std::string, std::vector<CommandEntry>> r;
  return r;
}
}  // namespace

bool register_command(const std::string& program, std::string name, std::string help,
                      AddCommand add) {
  auto& list = registry()[program];
  for (const auto& e : list)
    if (e.name == name)
      throw std::logic_error(program + ": command '" + name + "' registered twice");
  list.push_back({std::move(name), std::move(help), std::move(add)});
  return true;
}

std::vector<CommandEntry> commands_of(const std::string& program) {
  auto list = registry()[program];
  std::sort(list.begin(), list.end(),
            [](const CommandEntry& a, const CommandEntry& b) { return a.name < b.name; });
  return list;
}

std::vector<std::pair<CLI::App*, Runner>> add_commands(const std::string& program, CLI::App& app) {
  std::vector<std::pair<CLI::App*, Runner>> out;
  for (const auto& entry : commands_of(program)) {
    CLI::App* sub = app.add_subcommand(entry.name, entry.help);
    out.emplace_back(sub, entry.add(*sub));
  }
  return out;
}

int run_parsed(const std::vector<std::pair<CLI::App*, Runner>>& commands) {
  for (const auto& [sub, run] : commands)
    if (sub->parsed()) return run();
  return 2;
}

}  // namespace kd::cli
