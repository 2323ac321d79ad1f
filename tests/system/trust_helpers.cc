#include "tests/system/trust_helpers.h"

#include <unistd.h>

#include <atomic>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/base/files.h"
#include "common/base/status_macros.h"
#include "common/grpc_status.h"
#include "tests/system/audit_checks.h"

namespace writeback::testing {
namespace {

constexpr char kAttribute[] = "extensionAttribute1";

void Prepare(grpc::ClientContext* context) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
}

void AppendToFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::app);
  out << text;
}

}  // namespace

std::string AgentId(int n) { return absl::StrCat("agent-", n); }

std::string StateDir(const WritebackEnv& env, int n) {
  return absl::StrCat(env.work_dir(), "/state-agent-", n);
}

CtlResult CtlKept(WritebackEnv& env, const std::vector<std::string>& args) {
  static std::atomic<int> next{0};
  CtlResult r = env.Ctl(args);
  AppendToFile(absl::StrCat(env.work_dir(), "/ctl-out-", ++next, ".txt"),
               absl::StrCat("$ writebackctl ", absl::StrJoin(args, " "), "\n", r.output));
  return r;
}

absl::StatusOr<std::string> CreateTokenFile(WritebackEnv& env, const std::string& path) {
  CtlResult r = CtlKept(env, {"token", "create", absl::StrCat("--forest=", WritebackEnv::kForest),
                              "--output=" + path});
  if (r.exit_code != 0) return absl::InternalError("token create failed: " + r.output);
  WB_ASSIGN_OR_RETURN(std::string token, ReadPrivateFile(path));
  return std::string(absl::StripAsciiWhitespace(token));
}

CtlResult RunEnroll(WritebackEnv& env, const std::string& agent_id, const std::string& state_dir,
                    const std::vector<std::string>& token_args, const std::string& address) {
  std::vector<std::string> argv = {
      "enroll",
      "--controller=" + (address.empty() ? absl::StrCat("127.0.0.1:", env.enroll_port()) : address),
      "--agent_id=" + agent_id, "--state_dir=" + state_dir};
  argv.insert(argv.end(), token_args.begin(), token_args.end());
  const std::string log = absl::StrCat(env.work_dir(), "/enroll-", agent_id, ".log");
  const std::string out = log + ".last";
  unlink(out.c_str());
  CtlResult result;
  auto child = SpawnAgentBinary(argv, out);
  if (!child.ok()) {
    result.output = std::string(child.status().message());
    return result;
  }
  auto st = (*child)->WaitExit(absl::Seconds(60));  // hang guard
  result.output = ReadFileToString(out).value_or("");
  AppendToFile(log, result.output);
  unlink(out.c_str());
  if (st.ok() && st->exited) result.exit_code = st->code;
  return result;
}

absl::StatusOr<std::unique_ptr<ChildProcess>> SpawnAgentBinary(const std::vector<std::string>& args,
                                                               const std::string& log_file) {
  return ChildProcess::Spawn(WB_AGENT_BIN, args, log_file);
}

absl::Status EnrollAndStartAgent(WritebackEnv& env, int n, WritebackEnv::AgentOptions options) {
  const std::string token_file = absl::StrCat(env.work_dir(), "/token-agent-", n);
  WB_RETURN_IF_ERROR(CreateTokenFile(env, token_file).status());
  CtlResult enrolled = RunEnroll(env, AgentId(n), StateDir(env, n), {"--token_file=" + token_file});
  if (enrolled.exit_code != 0) {
    return absl::InternalError(absl::StrCat("enroll of ", AgentId(n), " failed (exit ",
                                            enrolled.exit_code, "): ", enrolled.output));
  }
  options.state_dir = StateDir(env, n);
  return env.StartAgent(n, options);
}

absl::StatusOr<v1::Agent> GetAgent(WritebackEnv& env, const std::string& agent_id) {
  v1::ListAgentsRequest request;
  v1::ListAgentsResponse response;
  grpc::ClientContext context;
  Prepare(&context);
  WB_RETURN_IF_ERROR(FromGrpcStatus(env.Admin().stub().ListAgents(&context, request, &response)));
  for (const v1::Agent& a : response.agents()) {
    if (a.agent_id() == agent_id) return a;
  }
  return absl::NotFoundError(absl::StrCat("ListAgents has no ", agent_id));
}

absl::StatusOr<v1::CertificateAuthority> GetCa(WritebackEnv& env) {
  v1::CertificateAuthority ca;
  grpc::ClientContext context;
  Prepare(&context);
  WB_RETURN_IF_ERROR(FromGrpcStatus(env.Admin().stub().GetCertificateAuthority(&context, {}, &ca)));
  return ca;
}

absl::StatusOr<v1::Agent> WaitOneLiveStream(WritebackEnv& env, const std::string& agent_id,
                                            absl::Duration guard) {
  const absl::Time deadline = absl::Now() + guard;
  while (true) {
    WB_ASSIGN_OR_RETURN(v1::Agent agent, GetAgent(env, agent_id));
    if (agent.state() == "connected" && agent.session_cert_serials_size() == 1) return agent;
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("hang guard: ", agent_id, " is ", agent.state(), " with ",
                       agent.session_cert_serials_size(), " live streams"));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

std::vector<std::string> PemBodyLines(const std::string& pem) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(pem, '\n', absl::SkipWhitespace())) {
    if (!absl::StartsWith(line, "-----")) lines.emplace_back(line);
  }
  std::stable_sort(lines.begin(), lines.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return lines;
}

ChangeStream::ChangeStream(AdminClient* admin, std::vector<std::string> ids, std::string prefix,
                           absl::Duration period)
    : admin_(admin),
      ids_(std::move(ids)),
      prefix_(std::move(prefix)),
      period_(period),
      last_(ids_.size()),
      generations_(ids_.size()) {}

ChangeStream::~ChangeStream() { (void)Stop(); }

void ChangeStream::Start() {
  thread_ = std::thread([this] { Run(); });
}

absl::Status ChangeStream::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
  absl::MutexLock lock(&mu_);
  return status_;
}

int ChangeStream::changes() const {
  absl::MutexLock lock(&mu_);
  return changes_;
}

std::string ChangeStream::last_value(size_t i) const {
  absl::MutexLock lock(&mu_);
  return last_.at(i);
}

std::map<std::string, std::set<uint64_t>> ChangeStream::generations(size_t i) const {
  absl::MutexLock lock(&mu_);
  return generations_.at(i);
}

void ChangeStream::Run() {
  for (int n = 0;; ++n) {
    const size_t i = static_cast<size_t>(n) % ids_.size();
    const std::string value = absl::StrCat(prefix_, "-", i, "-", n);
    absl::StatusOr<v1::Mailbox> m =
        admin_->UpdateMailbox(ids_[i], {AdminClient::Set(kAttribute, value)});
    absl::MutexLock lock(&mu_);
    if (!m.ok()) {
      status_ = absl::Status(m.status().code(), absl::StrCat("change ", n, " of ", ids_[i], ": ",
                                                             m.status().message()));
      return;
    }
    last_[i] = value;
    generations_[i][value].insert(m->desired_gen());
    ++changes_;
    auto stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stopped), period_)) return;
  }
}

absl::Status CheckWorkReachedAd(WritebackEnv& env, const std::vector<SambaDc::User>& users,
                                const ChangeStream& changes) {
  WB_RETURN_IF_ERROR(env.Admin().WaitAllInSync(absl::Minutes(3)));
  std::vector<std::string> findings;
  // AD holds the desired values.
  WB_ASSIGN_OR_RETURN(auto found,
                      env.dc().Search(env.ScopeOu(), "(objectClass=user)", {kAttribute}));
  std::map<std::string, std::vector<std::string>> ad;
  for (auto& [dn, attrs] : found) ad[absl::AsciiStrToLower(dn)] = attrs[kAttribute];
  for (size_t i = 0; i < changes.ids().size(); ++i) {
    const std::string want = changes.last_value(i);
    const std::vector<std::string>& have = ad[absl::AsciiStrToLower(users[i].dn)];
    if (want.empty() || have != std::vector<std::string>{want}) {
      findings.push_back(absl::StrCat(users[i].dn, ": AD holds [", absl::StrJoin(have, ", "),
                                      "], desired ", want));
    }
  }
  // Nothing lost, nothing failed.
  WB_ASSIGN_OR_RETURN(std::vector<v1::ProvisioningRecord> log, env.Admin().ProvisioningLog());
  int jobs = 0;
  std::set<std::string> answered;
  for (const v1::ProvisioningRecord& r : log) {
    if (r.kind() == "lost") {
      findings.push_back(absl::StrCat("lost record ", r.id(), ": ", r.job_id(), " of mailbox ",
                                      r.mailbox_id(), " with ", r.agent_id(), " session ",
                                      r.session_id(), ": ", r.diagnostic()));
    }
    if (r.kind() != "job") continue;
    ++jobs;
    if (!answered.insert(r.job_id()).second) {
      findings.push_back(absl::StrCat("job ", r.job_id(), " of mailbox ", r.mailbox_id(),
                                      " was answered more than once (redelivered)"));
    }
    if (r.outcome() != v1::APPLIED && r.outcome() != v1::ALREADY_IN_STATE) {
      findings.push_back(absl::StrCat("job ", r.job_id(), " of mailbox ", r.mailbox_id(), " by ",
                                      r.agent_id(), ": ", v1::Outcome_Name(r.outcome()), " ",
                                      r.diagnostic()));
    }
  }
  if (jobs == 0) findings.push_back("the provisioning log has no job record at all");
  // Nobody but writeback writes these objects: drift would be a false
  // observation.
  v1::ListDriftRequest drift_request;
  drift_request.set_limit(1000);
  v1::ListDriftResponse drift;
  grpc::ClientContext context;
  Prepare(&context);
  WB_RETURN_IF_ERROR(FromGrpcStatus(env.Admin().stub().ListDrift(&context, drift_request, &drift)));
  for (const v1::DriftRecord& d : drift.records()) {
    findings.push_back(absl::StrCat("drift recorded for ", d.mailbox_id(), " ", d.attribute(),
                                    ": expected [", absl::StrJoin(d.expected(), ", "), "], found [",
                                    absl::StrJoin(d.found(), ", "), "] (", d.source(), " ",
                                    d.work_id(), ")"));
  }
  // The DC's audit log: writes only move to newer generations.
  WB_ASSIGN_OR_RETURN(std::vector<AuditEvent> events, env.dc().AuditEvents());
  auto modifies = ModifiesByDn(events);
  for (size_t i = 0; i < changes.ids().size(); ++i) {
    absl::Status s = WritesMoveForward(modifies[absl::AsciiStrToLower(users[i].dn)], kAttribute,
                                       changes.generations(i));
    if (!s.ok()) findings.push_back(absl::StrCat(users[i].dn, ": ", s.message()));
  }
  if (findings.empty()) return absl::OkStatus();
  if (findings.size() > 40) findings.resize(40);
  return absl::FailedPreconditionError(absl::StrJoin(findings, "\n"));
}

}  // namespace writeback::testing
