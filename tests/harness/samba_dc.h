// A real Samba AD DC for integration and system tests.
//
// Restores the golden copy built by `samba_dc.sh golden` (Exchange schema
// extension applied, OU=Mailboxes and OU=Outside created) and starts it on
// ldaps://127.0.0.1 with a certificate from the test PKI (make_certs.sh), in
// about a second.  Samba's ports are fixed, so a test process that starts a
// DC must run in its own network namespace (tests/fixtures/netns_run.sh, as
// wb_add_dc_test does); one SambaDc per namespace.
//
//   WB_ASSIGN_OR_RETURN(auto dc, SambaDc::Start(SambaDc::Options::FromEnv()));
//   WB_ASSIGN_OR_RETURN(auto users, dc->AddUsers(3));
//   WB_RETURN_IF_ERROR(dc->Modify(users[0].dn, {{"extensionAttribute1", {"x"}}}));
//   WB_ASSIGN_OR_RETURN(auto attrs, dc->Read(users[0].dn, {"extensionAttribute1"}));
//   WB_ASSIGN_OR_RETURN(auto events, dc->AuditEvents());
//
// Read/Modify are independent of the code under test: libldap, simple bind
// as Administrator over LDAPS with CA verification, one connection per call.
#ifndef WRITEBACK_TESTS_HARNESS_SAMBA_DC_H_
#define WRITEBACK_TESTS_HARNESS_SAMBA_DC_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace writeback::testing {

class SambaDc {
 public:
  struct Options {
    std::string golden_tar;  // output of `samba_dc.sh golden`
    std::string cert_dir;    // output of make_certs.sh (dc.pem, dc.key, ca.pem)
    // Where the DC lives; must be empty or absent.  Empty: a fresh mkdtemp
    // directory in $WB_DC_TMPDIR (default /tmp), removed by the destructor
    // unless WB_KEEP_DC_DIR=1.
    std::string work_dir;
    // golden_tar from $WB_GOLDEN_TAR, cert_dir from $WB_CERT_DIR (set by
    // wb_add_dc_test).
    static Options FromEnv();
  };

  struct User {
    std::string dn;           // CN=<sam>,OU=...,DC=corp,DC=example,DC=test
    std::string sam;          // sAMAccountName (= CN)
    std::string object_guid;  // 16 raw bytes
  };

  // One change of one attribute inside an audited operation.
  struct AttributeAction {
    std::string action;               // "add", "delete", "replace"
    std::vector<std::string> values;  // as logged (may be empty for delete-all)
  };

  // One line of Samba's dsdb_json_audit log ("type": "dsdbChange").
  struct AuditEvent {
    std::string timestamp;   // "2026-11-23T20:21:09.915420+0000"
    absl::Time time = absl::InfinitePast();  // `timestamp` parsed (the DC's clock)
    std::string operation;   // "Add", "Modify", "Delete", "Rename", ...
    std::string dn;
    std::string user_sid;    // the bound user, e.g. S-1-5-21-...-500
    int status_code = 0;     // LDAP result; failed operations are logged too
    std::string status;      // "Success", "No such attribute", ...
    std::string transaction_id;
    // The client's LDAP connection, "ipv4:127.0.0.1:49388" (empty for tools
    // that open the database directly, such as ldbadd).
    std::string remote_address;
    // The authenticated session: one per bind on a connection. Tells the
    // writes of two connections of the same account apart.
    std::string session_id;
    bool performed_as_system = false;
    // Attribute name as the client spelled it -> its actions in order.
    std::map<std::string, std::vector<AttributeAction>> attributes;

    // Case-insensitive lookup of an attribute's actions (nullptr if absent).
    const std::vector<AttributeAction>* Find(const std::string& attr) const;
  };

  // A domain account created by AddAdminAccount or AddAccount.
  struct Account {
    std::string dn;             // CN=<name>,CN=Users,<base>
    std::string sid;            // "S-1-5-21-...": AuditEvent::user_sid of its writes
    std::string password_file;  // mode 0600, in the DC's directory
  };

  // One modification for ModifyOps.
  struct Mod {
    enum class Op { kAdd, kDelete, kReplace };
    Op op;
    std::string attr;
    std::vector<std::string> values;  // delete with no values: whole attribute
  };

  // Restores golden_tar into work_dir and starts samba (hang guard 60 s).
  // Fails without leaving a process behind.
  static absl::StatusOr<std::unique_ptr<SambaDc>> Start(const Options& options);

  // Stops the DC (if running) and removes a directory Start created.
  ~SambaDc();
  SambaDc(const SambaDc&) = delete;
  SambaDc& operator=(const SambaDc&) = delete;

  // Stops samba (SIGTERM to its process group, SIGKILL after a hang guard).
  // The directory and its data stay; Restart() starts it again.
  absl::Status Stop();
  // Starts samba again on the same directory (after Stop, or after it died).
  absl::Status Restart();

  const std::string& url() const { return url_; }  // ldaps://127.0.0.1
  const std::string& base_dn() const { return base_dn_; }
  const std::string& admin_dn() const { return admin_dn_; }
  const std::string& admin_password_file() const { return admin_password_file_; }
  const std::string& ca_file() const { return ca_file_; }
  const std::string& dir() const { return dir_; }
  const std::string& audit_log_path() const { return audit_log_; }
  // The Administrator password (contents of admin_password_file()).
  absl::StatusOr<std::string> AdminPassword() const;

  // Creates users <prefix>0001..<prefix><count> under `ou` (relative to the
  // base DN) with sAMAccountName, userPrincipalName, mail and
  // proxyAddresses=SMTP:<name>@corp.example.test, in one LDAP batch.
  // Returned in name order.  The accounts have no password (disabled).
  absl::StatusOr<std::vector<User>> AddUsers(int count, std::string prefix = "user",
                                             std::string ou = "OU=Mailboxes");

  // Creates an enabled account `name` (sAMAccountName and CN) with a random
  // password, in Domain Admins: a bind identity of its own for an agent, so
  // that the audit log tells that agent's writes apart (user_sid).
  absl::StatusOr<Account> AddAdminAccount(const std::string& name);
  // The same, in Domain Admins only when `domain_admin`: otherwise an
  // ordinary user, who may read the directory but not write other objects.
  absl::StatusOr<Account> AddAccount(const std::string& name, bool domain_admin);

  // Subtree search under `base` (a DN): DN -> attributes as Read returns
  // them, for every entry matching `filter`. One search, no paging (Samba
  // answers thousands of entries at once).
  absl::StatusOr<std::map<std::string, std::map<std::string, std::vector<std::string>>>> Search(
      const std::string& base, const std::string& filter,
      const std::vector<std::string>& attrs) const;

  // Reads `attrs` of `dn` (base search).  Absent attributes are absent from
  // the map; keys are spelled as in `attrs`.  NotFound if dn does not exist.
  absl::StatusOr<std::map<std::string, std::vector<std::string>>> Read(
      const std::string& dn, const std::vector<std::string>& attrs) const;

  // Replaces each attribute with the given values (empty: delete it), in one
  // modify operation: an on-premises "dual writer".
  absl::Status Modify(const std::string& dn,
                      const std::map<std::string, std::vector<std::string>>& replace) const;
  // Applies `mods` in one modify operation.
  absl::Status ModifyOps(const std::string& dn, const std::vector<Mod>& mods) const;
  // Applies `mods` in one modify operation bound as `who` (simple bind with
  // its password file) instead of Administrator: what that account's own
  // rights allow, e.g. LDAP 50 insufficientAccessRights where it has none.
  absl::Status ModifyOpsAs(const Account& who, const std::string& dn,
                           const std::vector<Mod>& mods) const;
  // Creates an empty security group `name` (CN and sAMAccountName) under `ou`
  // (relative to the base DN); returns its DN.
  absl::StatusOr<std::string> AddGroup(const std::string& name,
                                       const std::string& ou = "OU=Mailboxes");
  // Deletes the object (it becomes a tombstone).
  absl::Status Delete(const std::string& dn) const;
  // Moves the object under `new_parent` (same RDN); returns its new DN.
  absl::StatusOr<std::string> Move(const std::string& dn, const std::string& new_parent) const;

  // All dsdbChange events logged so far, oldest first.
  absl::StatusOr<std::vector<AuditEvent>> AuditEvents() const;

  // The LDAP result code carried by a status returned by Read/Modify/ModifyOps
  // (e.g. 16 noSuchAttribute, 20 attributeOrValueExists, 32 noSuchObject).
  static std::optional<int> LdapResultCode(const absl::Status& status);

 private:
  SambaDc() = default;
  absl::Status RunScript(const std::vector<std::string>& args) const;

  std::string cert_dir_;
  std::string dir_;
  bool owns_dir_ = false;
  bool running_ = false;
  std::string url_, base_dn_, admin_dn_, admin_password_file_, ca_file_, audit_log_;
};

}  // namespace writeback::testing

#endif  // WRITEBACK_TESTS_HARNESS_SAMBA_DC_H_
