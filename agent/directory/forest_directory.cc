#include "agent/directory/forest_directory.h"

#include <set>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace writeback::agent {
namespace {

// DNs compare ignoring case and the spaces after commas.
std::string Normalize(const std::string& dn) {
  std::string out;
  bool after_comma = false;
  for (char c : dn) {
    if (after_comma && c == ' ') continue;
    after_comma = c == ',';
    out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool EndsWithDn(const std::string& dn, const std::string& suffix) {
  std::string d = Normalize(dn), s = Normalize(suffix);
  if (!absl::EndsWith(d, s)) return false;
  return d.size() == s.size() || d[d.size() - s.size() - 1] == ',';
}

}  // namespace

ForestDirectory::ForestDirectory(Directory* global_catalog, std::string forest_root_dn,
                                 std::vector<Domain> domains)
    : global_catalog_(global_catalog),
      forest_root_dn_(std::move(forest_root_dn)),
      domains_(std::move(domains)) {}

const ForestDirectory::Domain* ForestDirectory::DomainOf(const std::string& dn) const {
  const Domain* best = nullptr;
  for (const Domain& d : domains_) {
    if (EndsWithDn(dn, d.dn) && (best == nullptr || d.dn.size() > best->dn.size())) best = &d;
  }
  return best;
}

absl::StatusOr<const ForestDirectory::Domain*> ForestDirectory::WriteDomain(
    const std::string& dn) const {
  const Domain* domain = DomainOf(dn);
  if (domain == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no DC is configured for the domain of ", dn,
        "; add the domain and its DCs to the agent's configuration"));
  }
  return domain;
}

absl::StatusOr<std::vector<DirectoryEntry>> ForestDirectory::Search(
    const std::string& base, const std::string& filter,
    const std::vector<std::string>& attributes, int size_limit) {
  // ms-DS-ConsistencyGuid is not in the Global Catalog's partial attribute
  // set: a filter on it can only be answered by each domain's own DCs.
  if (absl::StrContains(absl::AsciiStrToLower(filter), "ms-ds-consistencyguid")) {
    std::vector<DirectoryEntry> out;
    for (const Domain& d : domains_) {
      absl::StatusOr<std::vector<DirectoryEntry>> found =
          d.directory->Search(d.dn, filter, attributes, size_limit);
      if (!found.ok()) return found.status();
      for (DirectoryEntry& e : *found) {
        if (DomainOf(e.dn) == &d) out.push_back(std::move(e));
      }
    }
    return out;
  }
  absl::StatusOr<std::vector<DirectoryEntry>> hits =
      global_catalog_->Search(base, filter, attributes, size_limit);
  if (!hits.ok()) return hits;
  // Fresh copies from each domain that had hits; hits in domains this agent
  // has no DC for keep the GC's copy (scope rules then refuse them).
  std::set<const Domain*> domains;
  std::vector<DirectoryEntry> out;
  for (DirectoryEntry& hit : *hits) {
    const Domain* d = DomainOf(hit.dn);
    if (d == nullptr) {
      out.push_back(std::move(hit));
    } else {
      domains.insert(d);
    }
  }
  for (const Domain* d : domains) {
    absl::StatusOr<std::vector<DirectoryEntry>> fresh =
        d->directory->Search(d->dn, filter, attributes, size_limit);
    if (!fresh.ok()) return fresh.status();
    for (DirectoryEntry& e : *fresh) {
      // A child domain's objects are found again under its parent's DN
      // only through referrals, which are never followed; keep the entries
      // of the domain that owns them.
      if (DomainOf(e.dn) == d) out.push_back(std::move(e));
    }
  }
  return out;
}

absl::StatusOr<std::vector<DirectoryEntry>> ForestDirectory::SearchDeleted(
    const std::string& base, const std::string& filter,
    const std::vector<std::string>& attributes, int size_limit) {
  std::vector<DirectoryEntry> out;
  for (const Domain& d : domains_) {
    absl::StatusOr<std::vector<DirectoryEntry>> found =
        d.directory->SearchDeleted(d.dn, filter, attributes, size_limit);
    if (!found.ok()) return found.status();
    for (DirectoryEntry& e : *found) out.push_back(std::move(e));
  }
  return out;
}

absl::Status ForestDirectory::SearchPaged(const std::string& base, const std::string& filter,
                                          const std::vector<std::string>& attributes,
                                          int page_size, const PageSink& sink) {
  absl::StatusOr<const Domain*> domain = WriteDomain(base);
  if (!domain.ok()) return domain.status();
  const Domain* d = *domain;
  return d->directory->SearchPaged(base, filter, attributes, page_size,
                                   [&](SearchPage page) {
                                     SearchPage own{std::move(page.dc), {}};
                                     for (DirectoryEntry& e : page.entries) {
                                       if (DomainOf(e.dn) == d) own.entries.push_back(std::move(e));
                                     }
                                     return sink(std::move(own));
                                   });
}

absl::StatusOr<DcState> ForestDirectory::ReadDcState(const std::string& base) {
  absl::StatusOr<const Domain*> domain = WriteDomain(base);
  if (!domain.ok()) return domain.status();
  return (*domain)->directory->ReadDcState(base);
}

absl::StatusOr<LdapResult> ForestDirectory::Modify(const std::string& dn,
                                                   const std::vector<Modification>& mods) {
  absl::StatusOr<const Domain*> domain = WriteDomain(dn);
  if (!domain.ok()) return domain.status();
  last_written_ = *domain;
  return (*domain)->directory->Modify(dn, mods);
}

absl::StatusOr<int> ForestDirectory::StartModify(const std::string& dn,
                                                 const std::vector<Modification>& mods) {
  absl::StatusOr<const Domain*> domain = WriteDomain(dn);
  if (!domain.ok()) return domain.status();
  last_written_ = *domain;
  absl::StatusOr<int> inner = (*domain)->directory->StartModify(dn, mods);
  if (!inner.ok()) return inner.status();
  int ticket = ++next_ticket_;
  tickets_[ticket] = {static_cast<size_t>(*domain - domains_.data()), *inner};
  return ticket;
}

std::vector<Directory::Completion> ForestDirectory::PollModifies(absl::Duration wait) {
  std::vector<Completion> out;
  std::set<size_t> busy;
  for (const auto& [ticket, where] : tickets_) busy.insert(where.first);
  // Collect from every busy domain without waiting; wait on one only when
  // nothing was ready anywhere.
  for (int pass = 0; pass < 2 && out.empty(); ++pass) {
    for (size_t i : busy) {
      absl::Duration w = pass == 0 ? absl::ZeroDuration() : wait;
      for (Completion& c : domains_[i].directory->PollModifies(w)) {
        for (auto it = tickets_.begin(); it != tickets_.end(); ++it) {
          if (it->second == std::make_pair(i, c.ticket)) {
            out.push_back({it->first, std::move(c.result)});
            tickets_.erase(it);
            break;
          }
        }
      }
      if (pass == 1 && !out.empty()) break;
    }
  }
  return out;
}

std::string ForestDirectory::CurrentDc() const {
  return last_written_ != nullptr ? last_written_->directory->CurrentDc()
                                  : global_catalog_->CurrentDc();
}

void ForestDirectory::Close() {
  global_catalog_->Close();
  for (const Domain& d : domains_) d.directory->Close();
}

}  // namespace writeback::agent
