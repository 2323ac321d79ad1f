// Opens the agent's view of its forest's directory from configuration: one
// LdapDirectory for a single domain, or a Global Catalog plus each domain's
// DCs behind a ForestDirectory (forest_directory.h). The agent opens one set
// for its worker (jobs, reads) and reconciliation scans open their own
// (agent/reconcile/scanner.h), so that a long scan never holds up a job.
//
//   DirectoryConfig config;
//   config.ldap = ldap_options;                      // urls, TLS, bind, timeout
//   config.domains = {{"DC=emea,DC=corp,DC=example,DC=com", {"ldaps://emea-dc1"}}};
//   config.global_catalog_urls = {"ldaps://gc1.corp.example.com:3269"};
//   WB_ASSIGN_OR_RETURN(std::unique_ptr<DirectorySet> set, OpenDirectory(config));
//   JobApplier applier(set->directory(), policy);
//
// Not thread-safe beyond what Directory promises (Close() from any thread).
#ifndef WRITEBACK_AGENT_DIRECTORY_DIRECTORY_SET_H_
#define WRITEBACK_AGENT_DIRECTORY_DIRECTORY_SET_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/directory/directory.h"
#include "agent/directory/ldap_directory.h"

namespace writeback::agent {

struct DirectoryConfig {
  // The DCs of the single domain (ldap.urls), and for every domain the
  // connection settings (TLS, bind, timeout) that its own URLs reuse.
  LdapOptions ldap;
  // Several domains: each one's DN and DCs, plus the Global Catalog.
  struct Domain {
    std::string dn;
    std::vector<std::string> urls;
  };
  std::vector<Domain> domains;
  std::vector<std::string> global_catalog_urls;
};

// A Directory and the connections behind it, owned together; destroying the
// set closes them.
class DirectorySet {
 public:
  // Wraps a directory owned elsewhere (tests: a fake).
  explicit DirectorySet(Directory* borrowed) : directory_(borrowed) {}
  DirectorySet(std::vector<std::unique_ptr<Directory>> connections,
               std::unique_ptr<Directory> front);
  DirectorySet(const DirectorySet&) = delete;
  DirectorySet& operator=(const DirectorySet&) = delete;

  // What callers use; valid as long as the set.
  Directory* directory() const { return directory_; }

 private:
  std::vector<std::unique_ptr<Directory>> connections_;
  std::unique_ptr<Directory> front_;
  Directory* directory_ = nullptr;
};

// Connects (LdapDirectory::Connect for each directory, so configuration
// errors show at once). Errors: kInvalidArgument for an incomplete config
// (domains without global_catalog_urls, a domain without dn or URLs), else
// those of LdapDirectory::Connect.
absl::StatusOr<std::unique_ptr<DirectorySet>> OpenDirectory(const DirectoryConfig& config);

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_DIRECTORY_DIRECTORY_SET_H_
