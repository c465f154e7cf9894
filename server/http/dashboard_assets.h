// The dashboard's files, compiled into quantd at build time (see embed_assets.cmake), so the
// binary serves its own page and chart library with nothing to install beside it.
#pragma once

#include <string_view>
#include <vector>

namespace quantd::server {

struct DashboardAsset {
  std::string_view path;          // under /dashboard/, e.g. "app.js"
  std::string_view content_type;
  std::string_view bytes;
};

const std::vector<DashboardAsset>& DashboardAssets();

}  // namespace quantd::server
