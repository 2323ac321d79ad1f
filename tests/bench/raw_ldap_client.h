// RawLdapClient: the benchmark's yardstick, a plain pipelined libldap client
// that shares no code with the agent (agent/directory). It measures what the
// directory itself can take: modifies sent back to back with up to `window`
// outstanding on one connection, results matched by message id.
//
//   RawLdapClient::Options options{.url = "ldaps://127.0.0.1", .ca_file = ca,
//                                  .bind_dn = admin_dn, .password = password};
//   WB_ASSIGN_OR_RETURN(auto client, RawLdapClient::Connect(options));
//   WB_ASSIGN_OR_RETURN(PipelineStats stats, client->ModifyPipelined(ops, 64));
//   WB_ASSIGN_OR_RETURN(auto entries, client->SearchPaged(base, "(objectClass=user)",
//                                                        {"extensionAttribute1"}));
//
// LDAPS (or ldap:// with StartTLS) with CA verification and host name check,
// simple bind. Not copyable; one thread at a time.
#ifndef WRITEBACK_TESTS_BENCH_RAW_LDAP_CLIENT_H_
#define WRITEBACK_TESTS_BENCH_RAW_LDAP_CLIENT_H_

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

struct ldap;

namespace writeback::bench {

// One item of a modify. kDelete without values deletes the attribute.
struct RawMod {
  enum class Op { kAdd, kDelete, kReplace };
  Op op;
  std::string attribute;
  std::vector<std::string> values;
};

struct RawModify {
  std::string dn;
  std::vector<RawMod> mods;
};

// A search hit; attribute keys lower-cased, values raw bytes.
struct RawEntry {
  std::string dn;
  std::map<std::string, std::vector<std::string>> attributes;
};

struct PipelineStats {
  size_t sent = 0;
  size_t succeeded = 0;  // result code 0
  size_t failed = 0;     // any other result code
  // The first failure, for the report ("" when none).
  std::string first_failure;
  // From the first send to the last result.
  absl::Duration elapsed;
};

class RawLdapClient {
 public:
  struct Options {
    std::string url;       // ldaps://host[:port] or ldap://host[:port]
    std::string ca_file;   // PEM; verification is always on
    bool start_tls = false;  // for ldap:// URLs
    std::string bind_dn;
    std::string password;
    // Hang guard for connecting and for each wait for a result.
    absl::Duration timeout = absl::Seconds(60);
  };

  static absl::StatusOr<std::unique_ptr<RawLdapClient>> Connect(const Options& options);
  ~RawLdapClient();
  RawLdapClient(const RawLdapClient&) = delete;
  RawLdapClient& operator=(const RawLdapClient&) = delete;

  // Sends every modify in order, keeping at most `window` outstanding, and
  // collects each result by message id. Server-side refusals count as
  // failures; a broken connection or a hang is an error status.
  absl::StatusOr<PipelineStats> ModifyPipelined(const std::vector<RawModify>& modifies,
                                                size_t window);

  // Median time of `count` base searches of the rootDSE: the round trip the
  // client sees (with the delay proxy: about the configured RTT).
  absl::StatusOr<absl::Duration> MedianRoundTrip(int count);

  // Subtree search with the paged results control (Samba returns at most
  // 1,000 entries per page).
  absl::StatusOr<std::vector<RawEntry>> SearchPaged(const std::string& base,
                                                    const std::string& filter,
                                                    const std::vector<std::string>& attributes,
                                                    int page_size = 500);

 private:
  RawLdapClient(struct ldap* ld, Options options) : ld_(ld), options_(std::move(options)) {}

  struct ldap* ld_;
  const Options options_;
};

}  // namespace writeback::bench

#endif  // WRITEBACK_TESTS_BENCH_RAW_LDAP_CLIENT_H_
