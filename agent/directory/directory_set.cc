#include "agent/directory/directory_set.h"

#include <utility>

#include "absl/status/status.h"
#include "agent/directory/forest_directory.h"
#include "common/base/status_macros.h"

namespace writeback::agent {

DirectorySet::DirectorySet(std::vector<std::unique_ptr<Directory>> connections,
                           std::unique_ptr<Directory> front)
    : connections_(std::move(connections)), front_(std::move(front)) {
  directory_ = front_ != nullptr ? front_.get()
                                 : (connections_.empty() ? nullptr : connections_[0].get());
}

absl::StatusOr<std::unique_ptr<DirectorySet>> OpenDirectory(const DirectoryConfig& config) {
  std::vector<std::unique_ptr<Directory>> connections;
  if (config.domains.empty()) {
    WB_ASSIGN_OR_RETURN(std::unique_ptr<LdapDirectory> dc, LdapDirectory::Connect(config.ldap));
    connections.push_back(std::move(dc));
    return std::make_unique<DirectorySet>(std::move(connections), nullptr);
  }
  if (config.global_catalog_urls.empty()) {
    return absl::InvalidArgumentError(
        "global_catalog_urls: required with domains (e.g. ldaps://gc1.corp.example.com:3269)");
  }
  LdapOptions gc = config.ldap;
  gc.urls = config.global_catalog_urls;
  WB_ASSIGN_OR_RETURN(std::unique_ptr<LdapDirectory> global_catalog, LdapDirectory::Connect(gc));
  const std::string root = global_catalog->BaseDn();
  Directory* gc_raw = global_catalog.get();
  connections.push_back(std::move(global_catalog));
  std::vector<ForestDirectory::Domain> domains;
  for (const DirectoryConfig::Domain& d : config.domains) {
    if (d.dn.empty() || d.urls.empty()) {
      return absl::InvalidArgumentError("domains: each needs dn and at least one url");
    }
    LdapOptions options = config.ldap;
    options.urls = d.urls;
    options.base_dn = d.dn;
    WB_ASSIGN_OR_RETURN(std::unique_ptr<LdapDirectory> dc, LdapDirectory::Connect(options));
    domains.push_back({d.dn, dc.get()});
    connections.push_back(std::move(dc));
  }
  auto forest = std::make_unique<ForestDirectory>(gc_raw, root, std::move(domains));
  return std::make_unique<DirectorySet>(std::move(connections), std::move(forest));
}

}  // namespace writeback::agent
