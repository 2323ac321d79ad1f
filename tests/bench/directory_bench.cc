// directory_bench: write throughput against a real directory, side by side
// for the raw pipelined libldap client (the physical limit) and the agent's
// apply layer (PipelinedApplier over LdapDirectory), on the same users and
// the same compare-and-swap modifications (bench_workload.h).
//
//   directory_bench --mode=raw|apply --url=ldaps://127.0.0.1[:PORT]
//       --ca-file=ca.pem --password-file=admin.pass
//       [--bind-dn=CN=Administrator,CN=Users,DC=corp,DC=example,DC=test]
//       [--base=OU=Mailboxes,DC=corp,DC=example,DC=test]
//       [--windows=1,4,16,64,128] [--rounds=1] [--match-batch=64] [--label=loopback]
//
// Window sizes run in order (the whole list `rounds` times), each as one generation step over every
// user (step k takes every user from generation k-1 to k). A step counts only the users that a
// search afterwards finds holding generation k's values, and its rate is verified writes / time
// from the first send to the last result. Prints one JSON line per step, then the best step with
// "best":true. Tools of the benchmark (tests/bench/run.sh), not a test.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "agent/apply/job_applier.h"
#include "agent/apply/pipelined_applier.h"
#include "agent/directory/ldap_directory.h"
#include "common/base/log.h"
#include "common/base/status_macros.h"
#include "tests/bench/bench_util.h"
#include "tests/bench/bench_workload.h"
#include "tests/bench/raw_ldap_client.h"

namespace writeback::bench {
namespace {

struct Flags {
  std::string mode;
  std::string url = "ldaps://127.0.0.1";
  std::string ca_file;
  std::string password_file;
  std::string bind_dn = "CN=Administrator,CN=Users,DC=corp,DC=example,DC=test";
  std::string base = "OU=Mailboxes,DC=corp,DC=example,DC=test";
  std::vector<size_t> windows = {1, 4, 16, 64, 128};
  size_t match_batch =
      writeback::agent::PipelinedApplier::Options().match_batch;  // the agent's default
  int rounds = 1;
  std::string label = "loopback";
};

// The outcome of one window size.
struct Step {
  size_t window = 0;
  int generation = 0;
  size_t sent = 0;
  size_t ok = 0;      // raw: result 0; apply: APPLIED
  size_t failed = 0;  // everything else
  size_t verified = 0;
  double seconds = 0;
  std::string first_failure;
  double per_s() const { return seconds > 0 ? verified / seconds : 0; }
};

void PrintStep(const Flags& flags, const Step& s, size_t users, bool best) {
  std::string line = absl::StrFormat(
      "{\"bench\":\"directory\",\"mode\":\"%s\",\"label\":\"%s\",%s\"window\":%d,"
      "\"generation\":%d,\"users\":%d,\"sent\":%d,\"ok\":%d,\"failed\":%d,\"verified\":%d,"
      "\"seconds\":%.3f,\"per_s\":%.1f",
      flags.mode, flags.label, best ? "\"best\":true," : "", s.window, s.generation, users, s.sent,
      s.ok, s.failed, s.verified, s.seconds, s.per_s());
  if (!s.first_failure.empty())
    absl::StrAppend(&line, ",\"first_failure\":", JsonString(s.first_failure));
  if (flags.mode == "apply") absl::StrAppend(&line, ",\"match_batch\":", flags.match_batch);
  std::printf("%s}\n", line.c_str());
  std::fflush(stdout);
}

absl::StatusOr<Step> RunRaw(RawLdapClient& client, const std::vector<BenchUser>& users,
                            size_t window, int generation) {
  std::vector<RawModify> ops;
  ops.reserve(users.size());
  for (const BenchUser& u : users) ops.push_back(RawModifyFor(u, generation));
  WB_ASSIGN_OR_RETURN(PipelineStats stats, client.ModifyPipelined(ops, window));
  Step s;
  s.sent = stats.sent;
  s.ok = stats.succeeded;
  s.failed = stats.failed;
  s.first_failure = stats.first_failure;
  s.seconds = absl::ToDoubleSeconds(stats.elapsed);
  return s;
}

v1::Job JobFor(const BenchUser& user, int generation) {
  v1::Job job;
  job.set_job_id(absl::StrCat("bench-g", generation, "-", user.sam));
  job.set_mailbox_id(user.sam);
  job.set_source_anchor(user.object_guid);
  job.set_generation(generation);
  for (const BenchChange& c : ChangesFor(user, generation)) {
    v1::AttributeChange* change = job.add_changes();
    change->set_attribute(c.attribute);
    for (const std::string& v : c.expected) change->add_expected(v);
    for (const std::string& v : c.desired) change->add_desired(v);
  }
  return job;
}

Step RunApply(agent::Directory* directory, agent::JobApplier* applier,
              const std::vector<BenchUser>& users, size_t window, size_t match_batch,
              int generation) {
  std::vector<v1::Job> jobs;
  jobs.reserve(users.size());
  for (const BenchUser& u : users) jobs.push_back(JobFor(u, generation));
  agent::PipelinedApplier pipeline(directory, applier,
                                   {.window = window, .match_batch = match_batch});
  const absl::Time start = absl::Now();
  std::vector<v1::JobResult> results = agent::ApplyAll(pipeline, std::move(jobs));
  Step s;
  s.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  s.sent = users.size();
  for (const v1::JobResult& r : results) {
    if (r.outcome() == v1::APPLIED) {
      ++s.ok;
    } else if (s.failed++ == 0) {
      s.first_failure = absl::StrCat(v1::Outcome_Name(r.outcome()), ": ", r.diagnostic());
    }
  }
  return s;
}

// Where the apply layer's time goes besides modifies: the median time of
// JobApplier::MatchAnchors (one search) for up to 5 batches of users.
absl::StatusOr<absl::Duration> MedianMatchTime(agent::JobApplier& applier,
                                               const std::vector<BenchUser>& users, size_t batch) {
  std::vector<absl::Duration> times;
  for (size_t first = 0; first < users.size() && times.size() < 5; first += batch) {
    std::vector<std::string> anchors;
    for (size_t i = first; i < std::min(users.size(), first + batch); ++i) {
      anchors.push_back(users[i].object_guid);
    }
    const absl::Time start = absl::Now();
    std::vector<agent::JobApplier::Match> matches = applier.MatchAnchors(anchors);
    times.push_back(absl::Now() - start);
    for (const agent::JobApplier::Match& m : matches) {
      if (m.failure != v1::OUTCOME_UNSPECIFIED) {
        return absl::InternalError(
            absl::StrCat("matching a benchmark user failed: ", m.diagnostic));
      }
    }
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

absl::Status Run(const Flags& flags) {
  WB_ASSIGN_OR_RETURN(std::string password, ReadPassword(flags.password_file));
  RawLdapClient::Options raw_options;
  raw_options.url = flags.url;
  raw_options.ca_file = flags.ca_file;
  raw_options.bind_dn = flags.bind_dn;
  raw_options.password = password;
  // Lists the users, verifies every step, and in raw mode is the client.
  WB_ASSIGN_OR_RETURN(std::unique_ptr<RawLdapClient> client, RawLdapClient::Connect(raw_options));
  WB_ASSIGN_OR_RETURN(absl::Duration rtt, client->MedianRoundTrip(21));
  std::printf(
      "{\"bench\":\"directory\",\"mode\":\"%s\",\"label\":\"%s\","
      "\"probe\":\"rootdse_round_trip\",\"median_ms\":%.3f}\n",
      flags.mode.c_str(), flags.label.c_str(), absl::ToDoubleMilliseconds(rtt));
  WB_ASSIGN_OR_RETURN(std::vector<RawEntry> entries,
                      client->SearchPaged(flags.base, "(objectClass=user)", BenchAttributes()));
  const std::vector<BenchUser> users = UsersFrom(entries);
  if (users.empty()) return absl::FailedPreconditionError("no users under " + flags.base);
  if (size_t fresh = CountAtGeneration(entries, 0); fresh != users.size()) {
    return absl::FailedPreconditionError(absl::StrCat(
        fresh, " of ", users.size(), " users are in their initial state: restore the DC first"));
  }

  std::unique_ptr<agent::LdapDirectory> directory;
  std::unique_ptr<agent::JobApplier> applier;
  if (flags.mode == "apply") {
    agent::LdapOptions options;
    options.urls = {flags.url};
    options.ca_file = flags.ca_file;
    options.bind_dn = flags.bind_dn;
    options.password = password;
    options.timeout = absl::Seconds(30);  // a hang guard here, as in the raw client
    WB_ASSIGN_OR_RETURN(directory, agent::LdapDirectory::Connect(std::move(options)));
    agent::LocalPolicy policy;
    policy.scope_ous = {flags.base};
    applier = std::make_unique<agent::JobApplier>(directory.get(), policy);
    WB_ASSIGN_OR_RETURN(absl::Duration match, MedianMatchTime(*applier, users, flags.match_batch));
    std::printf(
        "{\"bench\":\"directory\",\"mode\":\"apply\",\"label\":\"%s\","
        "\"probe\":\"match_anchors\",\"batch\":%zu,\"median_ms\":%.3f}\n",
        flags.label.c_str(), flags.match_batch, absl::ToDoubleMilliseconds(match));
  }

  Step best;
  int generation = 0;
  std::vector<size_t> schedule;
  for (int r = 0; r < flags.rounds; ++r) {
    schedule.insert(schedule.end(), flags.windows.begin(), flags.windows.end());
  }
  for (size_t window : schedule) {
    ++generation;
    Step step;
    if (flags.mode == "raw") {
      WB_ASSIGN_OR_RETURN(step, RunRaw(*client, users, window, generation));
    } else {
      step = RunApply(directory.get(), applier.get(), users, window, flags.match_batch, generation);
    }
    step.window = window;
    step.generation = generation;
    WB_ASSIGN_OR_RETURN(entries,
                        client->SearchPaged(flags.base, "(objectClass=user)", BenchAttributes()));
    step.verified = CountAtGeneration(entries, generation);
    PrintStep(flags, step, users.size(), false);
    if (step.per_s() > best.per_s()) best = step;
  }
  PrintStep(flags, best, users.size(), true);
  return absl::OkStatus();
}

bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(arg, absl::MaxSplits('=', 1));
    const std::string key(kv.first), value(kv.second);
    if (key == "--mode")
      flags->mode = value;
    else if (key == "--url")
      flags->url = value;
    else if (key == "--ca-file")
      flags->ca_file = value;
    else if (key == "--password-file")
      flags->password_file = value;
    else if (key == "--bind-dn")
      flags->bind_dn = value;
    else if (key == "--base")
      flags->base = value;
    else if (key == "--label")
      flags->label = value;
    else if (key == "--rounds") {
      if (!absl::SimpleAtoi(kv.second, &flags->rounds) || flags->rounds < 1) return false;
    } else if (key == "--match-batch") {
      if (!absl::SimpleAtoi(kv.second, &flags->match_batch)) return false;
    } else if (key == "--windows") {
      flags->windows.clear();
      for (absl::string_view w : absl::StrSplit(kv.second, ',')) {
        size_t n = 0;
        if (!absl::SimpleAtoi(w, &n) || n == 0) return false;
        flags->windows.push_back(n);
      }
    } else {
      return false;
    }
  }
  return (flags->mode == "raw" || flags->mode == "apply") && !flags->password_file.empty() &&
         !flags->windows.empty();
}

}  // namespace
}  // namespace writeback::bench

int main(int argc, char** argv) {
  writeback::bench::Flags flags;
  if (!writeback::bench::ParseFlags(argc, argv, &flags)) {
    std::fprintf(stderr,
                 "usage: directory_bench --mode=raw|apply --password-file=F [--url=U] "
                 "[--ca-file=F] [--bind-dn=DN] [--base=DN] [--windows=1,4,16] [--rounds=N] "
                 "[--match-batch=N] [--label=L]\n");
    return 2;
  }
  writeback::SetLogComponent("directory_bench");
  if (absl::Status s = writeback::bench::Run(flags); !s.ok()) {
    std::fprintf(stderr, "directory_bench: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return 0;
}
