// The synthetic estate of the controller benchmark (controller_bench.sh):
// names of forests, agents and mailboxes, their source anchors, and the
// throwaway PKI every tool of the benchmark shares. No directory is involved,
// so anchors and DNs are made up; what matters is that the controller treats
// them exactly as real ones.
//
//   Estate e;  // 10 forests x 100 agents
//   e.mailboxes = 1000000;
//   e.ForestName(3);        // "f03.bench.test"
//   e.AgentId(142);         // "f01-agent-0042" (forest 1)
//   e.CloudId(7);           // "00000000-0000-4000-8000-000000000007"
//   WB_RETURN_IF_ERROR(MakeBenchPki(dir, e));   // ca, server, one cert per agent
//
// Mailbox i lives in forest i % forests. Agent k (0-based, over all forests)
// serves forest k / agents_per_forest. Thread-safe, no state.
#ifndef WRITEBACK_TESTS_BENCH_BENCH_ESTATE_H_
#define WRITEBACK_TESTS_BENCH_BENCH_ESTATE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace writeback::bench {

struct Estate {
  int forests = 10;
  int agents_per_forest = 100;
  int64_t mailboxes = 0;

  int agents() const { return forests * agents_per_forest; }
  std::string ForestName(int forest) const;
  // Agent k of agents(), 0-based.
  int ForestOfAgent(int k) const { return k / agents_per_forest; }
  std::string AgentId(int k) const;
  std::string CloudId(int64_t i) const;
  int ForestOfMailbox(int64_t i) const { return static_cast<int>(i % forests); }
  // 16 bytes, distinct per mailbox, spread evenly by any hash.
  std::string Anchor(int64_t i) const;
};

// One agent's TLS identity as the benchmark's PKI made it.
struct AgentCredentials {
  std::string cert_pem;
  std::string key_pem;
};

// Creates in `dir`: ca.pem/ca.key (the benchmark's CA, which the controller
// accepts through tls.ca_file), server.pem/server.key (127.0.0.1, localhost;
// for the echo server) and agents/<agent id>.pem/.key for every agent of
// `estate` (URI SAN writeback://forest/<forest>/agent/<id>, clientAuth, two
// days). EC P-256 throughout.
absl::Status MakeBenchPki(const std::string& dir, const Estate& estate);

// Agent k's certificate and key from a directory MakeBenchPki filled.
absl::StatusOr<AgentCredentials> LoadAgentCredentials(const std::string& dir, const Estate& estate,
                                                      int k);

}  // namespace writeback::bench

#endif  // WRITEBACK_TESTS_BENCH_BENCH_ESTATE_H_
