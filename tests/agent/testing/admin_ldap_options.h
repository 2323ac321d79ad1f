// LdapOptions for the agent's LDAP layer against a test DC: LDAPS with the
// test CA, simple bind as the DC's Administrator. For integration tests.
#ifndef WRITEBACK_TESTS_AGENT_TESTING_ADMIN_LDAP_OPTIONS_H_
#define WRITEBACK_TESTS_AGENT_TESTING_ADMIN_LDAP_OPTIONS_H_

#include "agent/directory/ldap_directory.h"
#include "tests/harness/samba_dc.h"

namespace writeback::agent::testing {

inline LdapOptions AdminLdapOptions(const writeback::testing::SambaDc& dc) {
  LdapOptions o;
  o.urls = {dc.url()};
  o.ca_file = dc.ca_file();
  o.bind_dn = dc.admin_dn();
  o.password = dc.AdminPassword().value();
  o.timeout = absl::Seconds(10);  // a hang guard
  return o;
}

}  // namespace writeback::agent::testing

#endif  // WRITEBACK_TESTS_AGENT_TESTING_ADMIN_LDAP_OPTIONS_H_
