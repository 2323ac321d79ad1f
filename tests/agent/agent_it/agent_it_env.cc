#include "tests/agent/agent_it/agent_it_env.h"

#include <stdlib.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"

namespace writeback::testing {

v1::Job CasJob(const std::string& job_id, const SambaDc::User& user,
               const std::vector<Change>& changes, uint64_t generation) {
  v1::Job job;
  job.set_job_id(job_id);
  job.set_mailbox_id("mbx-" + user.sam);
  job.set_source_anchor(user.object_guid);
  job.set_generation(generation);
  for (const Change& c : changes) {
    v1::AttributeChange* change = job.add_changes();
    change->set_attribute(c.attribute);
    for (const auto& v : c.expected) change->add_expected(v);
    for (const auto& v : c.desired) change->add_desired(v);
  }
  return job;
}

AgentItEnv::AgentItEnv() {
  char tmpl[] = "/tmp/wb-agent-it.XXXXXX";
  work_dir_ = mkdtemp(tmpl);
  const char* certs = getenv("WB_CERT_DIR");
  cert_dir_ = certs != nullptr ? certs : "";
}

AgentItEnv::~AgentItEnv() {
  agent_.reset();  // SIGKILL
  controller_.reset();
  dc_.reset();
  if (getenv("WB_KEEP_DC_DIR") == nullptr) {
    std::string cmd = absl::StrCat("rm -rf '", work_dir_, "'");
    (void)!system(cmd.c_str());
  }
}

std::string AgentItEnv::ScopeOu() const { return "OU=Mailboxes," + dc_->base_dn(); }

absl::Status AgentItEnv::StartDc() {
  if (cert_dir_.empty()) return absl::FailedPreconditionError("WB_CERT_DIR is not set");
  SambaDc::Options options = SambaDc::Options::FromEnv();
  options.cert_dir = cert_dir_;
  WB_ASSIGN_OR_RETURN(dc_, SambaDc::Start(options));
  return absl::OkStatus();
}

absl::Status AgentItEnv::StartController(TestController::Options options) {
  if (options.cert_dir.empty()) options.cert_dir = cert_dir_;
  WB_ASSIGN_OR_RETURN(controller_, TestController::Start(options));
  return absl::OkStatus();
}

absl::Status AgentItEnv::StartAgent(const AgentOptions& options) {
  std::vector<std::string> urls = options.ldap_urls;
  if (urls.empty()) urls.push_back(dc_->url());
  std::string ldap = "ldap {\n";
  for (const auto& url : urls) absl::StrAppend(&ldap, "  urls: \"", url, "\"\n");
  absl::StrAppend(&ldap, "  ca_file: \"", dc_->ca_file(), "\"\n  bind_dn: \"", dc_->admin_dn(),
                  "\"\n  password_file: \"", dc_->admin_password_file(), "\"\n  timeout_ms: ",
                  options.ldap_timeout_ms, "\n}\n");
  if (!options.ldap_block.empty()) ldap = options.ldap_block;
  std::string config = absl::StrCat(
      "controller: \"", controller_->address(), "\"\n",
      "tls { cert_file: \"", cert_dir_, "/agent-1.pem\" key_file: \"", cert_dir_,
      "/agent-1.key\" ca_file: \"", cert_dir_, "/ca.pem\" }\n", ldap,
      "scope_ous: \"", ScopeOu(), "\"\n",
      "max_in_flight: ", options.max_in_flight, "\n",
      "reconnect_initial_ms: 200\nreconnect_max_ms: 2000\n",
      "metrics_listen: \"127.0.0.1:0\"\n", options.extra_config);
  std::string config_path = absl::StrCat(work_dir_, "/agent-", ++agent_starts_, ".conf");
  WB_RETURN_IF_ERROR(WriteFileAtomically(config_path, config));
  WB_ASSIGN_OR_RETURN(agent_, ChildProcess::Spawn(WB_AGENT_BIN, {"--config=" + config_path},
                                                  work_dir_ + "/agent.log"));
  absl::StatusOr<TestController::Session> session =
      controller_->WaitForAgent(absl::Seconds(30));  // hang guard
  if (!session.ok()) {
    return absl::Status(session.status().code(),
                        absl::StrCat(session.status().message(), "\n--- agent log ---\n",
                                     AgentLog()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, v1::JobResult>> AgentItEnv::Run(
    const std::vector<v1::Job>& jobs, absl::Duration timeout) {
  WB_RETURN_IF_ERROR(controller_->SendJobs(jobs));
  WB_ASSIGN_OR_RETURN(std::vector<v1::JobResult> results,
                      controller_->WaitForResults(jobs.size(), timeout));
  std::map<std::string, v1::JobResult> by_id;
  for (const v1::Job& job : jobs) by_id[job.job_id()];
  for (v1::JobResult& r : results) {
    auto it = by_id.find(r.job_id());
    if (it == by_id.end()) {
      return absl::InternalError(absl::StrCat("result for a job not sent: ", r.ShortDebugString()));
    }
    it->second = std::move(r);
  }
  return by_id;
}

absl::StatusOr<size_t> AgentItEnv::AuditMark() const {
  WB_ASSIGN_OR_RETURN(auto events, dc_->AuditEvents());
  return events.size();
}

absl::StatusOr<std::vector<SambaDc::AuditEvent>> AgentItEnv::ModifiesSince(
    size_t mark, const std::string& dn) const {
  WB_ASSIGN_OR_RETURN(auto events, dc_->AuditEvents());
  std::vector<SambaDc::AuditEvent> out;
  std::string want = absl::AsciiStrToLower(dn);
  for (size_t i = mark; i < events.size(); ++i) {
    const auto& e = events[i];
    if (e.performed_as_system || e.operation != "Modify") continue;
    if (absl::AsciiStrToLower(e.dn) == want) out.push_back(e);
  }
  return out;
}

std::string AgentItEnv::AgentLog() const {
  auto content = ReadFileToString(work_dir_ + "/agent.log");
  if (!content.ok()) return "";
  constexpr size_t kTail = 6000;
  return content->size() > kTail ? content->substr(content->size() - kTail) : *content;
}

}  // namespace writeback::testing
