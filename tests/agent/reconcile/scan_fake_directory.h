// An in-memory Directory for scan tests: user objects with a uSNChanged each,
// one DC whose state (invocationId, highestCommittedUSN) the test sets, paged
// searches of the filters a scan pass builds, and failures on demand.
//
//   ScanFakeDirectory dir;
//   dir.AddUser("CN=u1,OU=Mailboxes,DC=corp,DC=example,DC=test", 17, {{"mail", {"a@x"}}});
//   dir.state.highest_committed_usn = 40;
//   RunScanPass(&dir, checker, {"OU=Mailboxes,DC=corp,DC=example,DC=test"}, request, send);
//   EXPECT_THAT(dir.filters(), ...);
//
// Thread-safe: a scan runs on its own thread. Searches can be held at their
// first page (hold_search) so that a test sees a scan while it runs.
#ifndef WRITEBACK_TESTS_AGENT_RECONCILE_SCAN_FAKE_DIRECTORY_H_
#define WRITEBACK_TESTS_AGENT_RECONCILE_SCAN_FAKE_DIRECTORY_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "agent/directory/directory.h"

namespace writeback::agent::testing {

class ScanFakeDirectory : public Directory {
 public:
  using Attributes = std::map<std::string, std::vector<std::string>>;

  // What the test controls (set before the scan, or under no race).
  DcState state{"ldaps://fake-dc.test", "11111111-2222-3333-4444-555555555555", 100};
  std::optional<absl::Status> state_error;
  // When set, `state` becomes this once a search has run (another DC behind
  // the same URL, or a restore, during the pass).
  std::optional<DcState> state_after_search;
  // The search fails with this after delivering `fail_after_pages` pages.
  std::optional<absl::Status> search_error;
  int fail_after_pages = 0;
  // Pages claim to come from this DC when set (a failover mid-pass).
  std::string answering_dc;

  // A user object (objectCategory=person, objectClass=user) with uSNChanged.
  void AddUser(const std::string& dn, int64_t usn, Attributes attributes) {
    Attributes a;
    for (auto& [k, v] : attributes) a[absl::AsciiStrToLower(k)] = v;
    a["usnchanged"] = {std::to_string(usn)};
    absl::MutexLock lock(&mu_);
    objects_.push_back({dn, usn, std::move(a)});
  }
  // Sets an attribute and bumps the object's uSNChanged to `usn`.
  void Change(const std::string& dn, const std::string& attribute,
              std::vector<std::string> values, int64_t usn) {
    absl::MutexLock lock(&mu_);
    for (Object& o : objects_) {
      if (o.dn != dn) continue;
      o.attributes[absl::AsciiStrToLower(attribute)] = std::move(values);
      o.usn = usn;
      o.attributes["usnchanged"] = {std::to_string(usn)};
    }
  }

  // Holds every paged search before its first page until Release().
  void Hold() {
    absl::MutexLock lock(&mu_);
    hold_ = true;
  }
  void Release() {
    absl::MutexLock lock(&mu_);
    hold_ = false;
  }
  // Waits (hang guard 10 s) until `n` paged searches have started.
  bool WaitForSearches(int n) {
    absl::MutexLock lock(&mu_);
    auto started = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return searches_started_ >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&started), absl::Seconds(10));
  }

  // Calls in order: "state <base>" and "search <base> <filter> <page size>".
  std::vector<std::string> calls() const {
    absl::MutexLock lock(&mu_);
    return calls_;
  }
  std::vector<std::string> requested_attributes() const {
    absl::MutexLock lock(&mu_);
    return attributes_;
  }
  int close_calls() const {
    absl::MutexLock lock(&mu_);
    return close_calls_;
  }

  absl::StatusOr<DcState> ReadDcState(const std::string& base) override {
    absl::MutexLock lock(&mu_);
    calls_.push_back("state " + base);
    if (state_error.has_value()) return *state_error;
    return state;
  }

  absl::Status SearchPaged(const std::string& base, const std::string& filter,
                           const std::vector<std::string>& attributes, int page_size,
                           const PageSink& sink) override {
    std::vector<SearchPage> pages;
    {
      absl::MutexLock lock(&mu_);
      calls_.push_back("search " + base + " " + filter + " " + std::to_string(page_size));
      if (state_after_search.has_value()) state = *state_after_search;
      attributes_ = attributes;
      searches_started_++;
      auto released = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !hold_; };
      mu_.Await(absl::Condition(&released));
      int64_t min_usn = 0;
      const std::string users = "(&(objectCategory=person)(objectClass=user)";
      if (!absl::StartsWith(filter, users)) {
        return absl::InvalidArgumentError("fake: unexpected filter " + filter);
      }
      std::string rest = filter.substr(users.size());
      if (absl::StartsWith(rest, "(uSNChanged>=")) {
        std::string n = rest.substr(13, rest.find(')') - 13);
        if (!absl::SimpleAtoi(n, &min_usn)) return absl::InvalidArgumentError("fake: " + filter);
      }
      SearchPage page{answering_dc.empty() ? state.dc : answering_dc, {}};
      for (const Object& o : objects_) {
        if (!absl::EndsWithIgnoreCase(o.dn, base) || o.usn < min_usn) continue;
        DirectoryEntry e{o.dn, {}};
        for (const std::string& a : attributes) {
          auto it = o.attributes.find(absl::AsciiStrToLower(a));
          if (it != o.attributes.end()) e.attributes[it->first] = it->second;
        }
        page.entries.push_back(std::move(e));
        if (static_cast<int>(page.entries.size()) == page_size) {
          pages.push_back(page);
          page.entries.clear();
        }
      }
      if (!page.entries.empty() || pages.empty()) pages.push_back(page);
    }
    for (size_t i = 0; i < pages.size(); ++i) {
      if (search_error.has_value() && static_cast<int>(i) == fail_after_pages) {
        return *search_error;
      }
      if (absl::Status s = sink(pages[i]); !s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // Not used by scans.
  absl::StatusOr<std::vector<DirectoryEntry>> Search(const std::string&, const std::string&,
                                                     const std::vector<std::string>&,
                                                     int) override {
    return absl::UnimplementedError("fake: Search");
  }
  absl::StatusOr<LdapResult> Modify(const std::string&,
                                    const std::vector<Modification>&) override {
    return absl::UnimplementedError("fake: Modify");
  }
  absl::StatusOr<int> StartModify(const std::string&, const std::vector<Modification>&) override {
    return absl::UnimplementedError("fake: StartModify");
  }
  std::vector<Completion> PollModifies(absl::Duration) override { return {}; }
  size_t OutstandingModifies() const override { return 0; }
  std::string BaseDn() const override { return "DC=corp,DC=example,DC=test"; }
  std::string CurrentDc() const override { return state.dc; }
  void Close() override {
    absl::MutexLock lock(&mu_);
    close_calls_++;
  }

 private:
  struct Object {
    std::string dn;
    int64_t usn = 0;
    Attributes attributes;
  };
  mutable absl::Mutex mu_;
  std::vector<Object> objects_ ABSL_GUARDED_BY(mu_);
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  int searches_started_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> calls_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> attributes_ ABSL_GUARDED_BY(mu_);
  int close_calls_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace writeback::agent::testing

#endif  // WRITEBACK_TESTS_AGENT_RECONCILE_SCAN_FAKE_DIRECTORY_H_
