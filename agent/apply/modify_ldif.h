// The LDIF (RFC 2849) of one LDAP modify, as a dry run reports it.
//
//   std::string ldif = ModifyToLdif("CN=Ann,OU=Mailboxes,DC=corp,DC=example,DC=test",
//       {{ModOp::kDelete, "mail", {"old@corp.example.test"}},
//        {ModOp::kAdd, "mail", {"new@corp.example.test"}}});
//   // dn: CN=Ann,OU=Mailboxes,DC=corp,DC=example,DC=test
//   // changetype: modify
//   // delete: mail
//   // mail: old@corp.example.test
//   // -
//   // add: mail
//   // mail: new@corp.example.test
//   // -
//
// A DN or value that is not an RFC 2849 SAFE-STRING (non-ASCII, control
// characters, a leading space, ':' or '<', a trailing space) is written
// base64-encoded ("mail:: ..."). Lines are not folded.
#ifndef WRITEBACK_AGENT_APPLY_MODIFY_LDIF_H_
#define WRITEBACK_AGENT_APPLY_MODIFY_LDIF_H_

#include <string>
#include <vector>

#include "agent/directory/directory.h"

namespace writeback::agent {

std::string ModifyToLdif(const std::string& dn,
                         const std::vector<Modification>& mods);

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_APPLY_MODIFY_LDIF_H_
