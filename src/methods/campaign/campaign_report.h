// The campaign's report: one row per stage (status, ranks, planned and measured times,
// throughput, headline results read from what the stage wrote: held-out MLM accuracy, probe
// P@1, parameter count, downstream scores) as campaign_dir/campaign_report.json and .txt, and
// the timeline (rank groups × time, one bar per stage run) as timeline.png through
// launch/plot_timeline.py.
#pragma once
#include <nlohmann/json.hpp>

#include <string>

#include "methods/campaign/campaign_config.h"
#include "methods/campaign/campaign_plan.h"

namespace kd::methods::campaign {

nlohmann::json campaign_report(const CampaignConfig& c, const Plan& plan);
std::string report_table(const nlohmann::json& report);
// Writes the JSON, the table (also printed) and the PNG (a warning when python3 or matplotlib
// is missing; the JSON holds the same times).
void write_report(const CampaignConfig& c, const Plan& plan);

}  // namespace kd::methods::campaign
