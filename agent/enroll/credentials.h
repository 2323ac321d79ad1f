// The agent's own TLS identity in its state directory (DESIGN §7), written
// by enrollment and renewal: agent.key (its private key, made here, never
// sent), agent.pem (the client certificate the controller issued), ca.pem
// (what it trusts for the controller). Every file is mode 0600, the
// directory 0700; each is replaced atomically, the key and certificate as a
// pair (the certificate last, so a reader that finds a certificate finds
// its key).
//
//   WB_ASSIGN_OR_RETURN(AgentCredentials c, LoadCredentials("/var/lib/writeback-agent"));
//   absl::Time renew = RenewAt(c.info);   // half-life
#ifndef WRITEBACK_AGENT_ENROLL_CREDENTIALS_H_
#define WRITEBACK_AGENT_ENROLL_CREDENTIALS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/pki/x509.h"

namespace writeback::agent {

struct AgentCredentials {
  std::string key_pem;
  std::string cert_pem;
  std::string ca_pem;
  pki::CertificateInfo info;  // of cert_pem
};

// Reads and checks the three files: the key must be the certificate's and
// private (0600). kNotFound names the directory and says to enroll.
absl::StatusOr<AgentCredentials> LoadCredentials(const std::string& state_dir);

// Writes the three files (creating the directory 0700 if needed).
absl::Status SaveCredentials(const std::string& state_dir, const AgentCredentials& credentials);

// Completes `c` from its PEMs: parses the certificate and checks that the
// key is its key and that a CA of ca_pem signed it.
absl::Status CheckCredentials(AgentCredentials* c);

// When to renew: half-way between notBefore and notAfter.
absl::Time RenewAt(const pki::CertificateInfo& cert);

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_ENROLL_CREDENTIALS_H_
