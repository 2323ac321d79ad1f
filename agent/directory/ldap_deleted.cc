// LdapDirectory::SearchDeleted: a Search with the Show Deleted control, kept
// apart from the connection code in ldap_directory.cc.
#include <ldap.h>

#include <string>
#include <vector>

#include "agent/directory/ldap_directory.h"

namespace writeback::agent {
namespace {

// LDAP_SERVER_SHOW_DELETED_OID (MS-ADTS 3.1.1.3.4.1.14); Samba supports it.
constexpr char kShowDeletedOid[] = "1.2.840.113556.1.4.417";

}  // namespace

absl::StatusOr<std::vector<DirectoryEntry>> LdapDirectory::SearchDeleted(
    const std::string& base, const std::string& filter,
    const std::vector<std::string>& attributes, int size_limit) {
  // The control goes on the open connection as its default server control
  // for exactly this search (ldap_search_ext without controls uses the
  // defaults). It is critical: a DC that does not know it refuses the search
  // instead of silently returning live objects only. When the connection has
  // to be (re)dialled first, the search runs without it and finds only live
  // objects: the caller then reports "not found", as before this search.
  {
    absl::MutexLock lock(&mu_);
    if (ld_ != nullptr && !busy_) {
      LDAPControl show_deleted;
      show_deleted.ldctl_oid = const_cast<char*>(kShowDeletedOid);
      show_deleted.ldctl_value.bv_len = 0;
      show_deleted.ldctl_value.bv_val = nullptr;
      show_deleted.ldctl_iscritical = 1;
      LDAPControl* controls[] = {&show_deleted, nullptr};
      ldap_set_option(ld_, LDAP_OPT_SERVER_CONTROLS, controls);
    }
  }
  absl::StatusOr<std::vector<DirectoryEntry>> entries =
      Search(base, filter, attributes, size_limit);
  absl::MutexLock lock(&mu_);
  if (ld_ != nullptr && !busy_) ldap_set_option(ld_, LDAP_OPT_SERVER_CONTROLS, nullptr);
  return entries;
}

}  // namespace writeback::agent
