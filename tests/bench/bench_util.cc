#include "tests/bench/bench_util.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace writeback::bench {

std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

absl::StatusOr<std::string> ReadPassword(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read password file ", path));
  std::stringstream text;
  text << in.rdbuf();
  std::string password = text.str();
  while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
    password.pop_back();
  }
  return password;
}

absl::StatusOr<ProcStats> ReadProcStats(pid_t pid) {
  ProcStats stats;
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  if (!status) return absl::NotFoundError(absl::StrCat("no process ", pid));
  std::string line;
  while (std::getline(status, line)) {
    std::vector<absl::string_view> f = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    double kb = 0;
    if (f.size() < 2 || !absl::SimpleAtod(f[1], &kb)) continue;
    if (f[0] == "VmHWM:") stats.peak_mb = kb / 1024;
  }
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces), which ends with ')'.
  size_t close = text.rfind(')');
  if (close == std::string::npos) return absl::InternalError("unreadable /proc/PID/stat");
  std::vector<absl::string_view> f = absl::StrSplit(text.substr(close + 2), ' ');
  // utime and stime are fields 14 and 15 of stat(5): 12 and 13 here.
  double utime = 0, stime = 0;
  if (f.size() < 14 || !absl::SimpleAtod(f[11], &utime) || !absl::SimpleAtod(f[12], &stime)) {
    return absl::InternalError("unreadable /proc/PID/stat");
  }
  stats.cpu_s = (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  return stats;
}

}  // namespace writeback::bench
