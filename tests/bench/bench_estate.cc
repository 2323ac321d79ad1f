// The controller benchmark's synthetic estate and PKI (bench_estate.h).
#include "tests/bench/bench_estate.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "common/identity/identity.h"
#include "common/pki/x509.h"

namespace writeback::bench {
namespace {

uint64_t Mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

absl::Status MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::FailedPreconditionError(absl::StrCat("cannot create ", path));
  }
  return absl::OkStatus();
}

}  // namespace

std::string Estate::ForestName(int forest) const {
  return absl::StrFormat("f%02d.bench.test", forest);
}

std::string Estate::AgentId(int k) const {
  return absl::StrFormat("f%02d-agent-%04d", ForestOfAgent(k), k % agents_per_forest);
}

std::string Estate::CloudId(int64_t i) const {
  return absl::StrFormat("00000000-0000-4000-8000-%012x", i);
}

std::string Estate::Anchor(int64_t i) const {
  uint64_t a = Mix(static_cast<uint64_t>(i));
  uint64_t b = static_cast<uint64_t>(i);
  std::string out(16, '\0');
  for (int j = 0; j < 8; ++j) {
    out[j] = static_cast<char>(a >> (8 * j));
    out[8 + j] = static_cast<char>(b >> (8 * j));
  }
  return out;
}

absl::Status MakeBenchPki(const std::string& dir, const Estate& estate) {
  const absl::Time now = absl::Now();
  const absl::Time not_before = now - absl::Minutes(5);
  const absl::Time not_after = now + absl::Hours(48);
  WB_RETURN_IF_ERROR(MakeDir(dir));
  WB_RETURN_IF_ERROR(MakeDir(dir + "/agents"));
  WB_ASSIGN_OR_RETURN(pki::Authority ca,
                      pki::NewAuthority("writeback bench CA", not_before, now + absl::Hours(72)));
  WB_RETURN_IF_ERROR(WriteFileAtomically(dir + "/ca.pem", ca.cert_pem));
  WB_RETURN_IF_ERROR(WritePrivateFileAtomically(dir + "/ca.key", ca.key_pem));

  auto issue = [&](const pki::Profile& profile, const std::string& base) -> absl::Status {
    WB_ASSIGN_OR_RETURN(std::string key, pki::NewPrivateKeyPem());
    WB_ASSIGN_OR_RETURN(std::string pub, pki::PublicKeyPemOfPrivateKey(key));
    WB_ASSIGN_OR_RETURN(std::string cert, pki::IssueForPublicKey(ca, pub, profile));
    WB_RETURN_IF_ERROR(WriteFileAtomically(base + ".pem", cert));
    return WritePrivateFileAtomically(base + ".key", key);
  };
  pki::Profile server;
  server.common_name = "bench-server";
  server.dns_sans = {"localhost"};
  server.ip_sans = {"127.0.0.1"};
  server.server_auth = true;
  server.not_before = not_before;
  server.not_after = not_after;
  WB_RETURN_IF_ERROR(issue(server, dir + "/server"));
  for (int k = 0; k < estate.agents(); ++k) {
    pki::Profile agent;
    agent.common_name = estate.AgentId(k);
    agent.uri_sans = {
        AgentIdentityUri({estate.ForestName(estate.ForestOfAgent(k)), estate.AgentId(k)})};
    agent.client_auth = true;
    agent.not_before = not_before;
    agent.not_after = not_after;
    WB_RETURN_IF_ERROR(issue(agent, absl::StrCat(dir, "/agents/", estate.AgentId(k))));
  }
  return absl::OkStatus();
}

absl::StatusOr<AgentCredentials> LoadAgentCredentials(const std::string& dir, const Estate& estate,
                                                      int k) {
  const std::string base = absl::StrCat(dir, "/agents/", estate.AgentId(k));
  AgentCredentials c;
  WB_ASSIGN_OR_RETURN(c.cert_pem, ReadFileToString(base + ".pem"));
  WB_ASSIGN_OR_RETURN(c.key_pem, ReadPrivateFile(base + ".key"));
  return c;
}

}  // namespace writeback::bench
