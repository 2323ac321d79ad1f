// The modifications the directory benchmark makes, identical for the raw
// client and for the agent's apply layer, and the check that they landed.
//
// Generation g of a user (g = 0 is the state `samba_dc.sh add-users` left):
//   extensionAttribute1 = "bench-g<g>-<sam>"            (absent at g = 0)
//   proxyAddresses      = {"SMTP:<sam>@corp.example.test",
//                          "smtp:<sam>.g<g>@corp.example.test"}   (g > 0)
// Step g (g-1 -> g) is one compare-and-swap modify per user, as DESIGN §5
// and JobApplier build it: per attribute, delete the whole expected old set
// (when not empty), then add the desired set.
//
//   for (const BenchUser& u : users) ops.push_back(RawModifyFor(u, g));
//   ...
//   size_t ok = CountAtGeneration(client->SearchPaged(...), g);
#ifndef WRITEBACK_TESTS_BENCH_BENCH_WORKLOAD_H_
#define WRITEBACK_TESTS_BENCH_BENCH_WORKLOAD_H_

#include <string>
#include <vector>

#include "tests/bench/raw_ldap_client.h"

namespace writeback::bench {

struct BenchUser {
  std::string dn;
  std::string sam;          // sAMAccountName
  std::string object_guid;  // 16 raw bytes (the source anchor)
};

// The attributes the benchmark reads to find users and verify them.
std::vector<std::string> BenchAttributes();

// Users from a search of the mailbox OU with BenchAttributes(); entries
// without sAMAccountName or objectGUID are skipped. Sorted by name.
std::vector<BenchUser> UsersFrom(const std::vector<RawEntry>& entries);

// One attribute's compare-and-swap from generation g-1 to g.
struct BenchChange {
  std::string attribute;
  std::vector<std::string> expected;
  std::vector<std::string> desired;
};
std::vector<BenchChange> ChangesFor(const BenchUser& user, int generation);

// The raw client's modify for ChangesFor(user, generation).
RawModify RawModifyFor(const BenchUser& user, int generation);

// How many entries hold exactly generation g's values (extensionAttribute1
// equal, proxyAddresses equal as a set, ignoring order).
size_t CountAtGeneration(const std::vector<RawEntry>& entries, int generation);

}  // namespace writeback::bench

#endif  // WRITEBACK_TESTS_BENCH_BENCH_WORKLOAD_H_
