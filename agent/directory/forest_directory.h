// A forest of several domains behind one Directory (DESIGN §5, topology).
// Searches go to a Global Catalog, which sees every domain of the forest
// (except searches on ms-DS-ConsistencyGuid, which the GC does not hold: they
// go to every domain's DC);
// the domains that had hits are then searched again with the same filter on
// a DC of their own (the GC's copy can lag behind, and a compare-and-swap
// must start from what the writing DC holds). Writes go to the DC of the
// object's own domain, chosen by the longest domain DN that ends the
// object's DN, so all writes of one object land on one DC.
//
//   ForestDirectory forest(gc.get(), "DC=corp,DC=example,DC=com",
//                          {{"DC=corp,DC=example,DC=com", root.get()},
//                           {"DC=emea,DC=corp,DC=example,DC=com", emea.get()}});
//   JobApplier applier(&forest, policy);   // the applier sees one directory
//
// Used from one thread, except Close() (as Directory). Does not own the
// directories it routes to.
#ifndef WRITEBACK_AGENT_DIRECTORY_FOREST_DIRECTORY_H_
#define WRITEBACK_AGENT_DIRECTORY_FOREST_DIRECTORY_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "agent/directory/directory.h"

namespace writeback::agent {

class ForestDirectory : public Directory {
 public:
  struct Domain {
    std::string dn;         // e.g. "DC=emea,DC=corp,DC=example,DC=com"
    Directory* directory;   // a DC of that domain (not owned)
  };

  // `global_catalog` answers forest-wide searches under `forest_root_dn`.
  ForestDirectory(Directory* global_catalog, std::string forest_root_dn,
                  std::vector<Domain> domains);

  // Which configured domain holds `dn` (longest suffix), or nullptr.
  const Domain* DomainOf(const std::string& dn) const;

  absl::StatusOr<std::vector<DirectoryEntry>> Search(
      const std::string& base, const std::string& filter,
      const std::vector<std::string>& attributes, int size_limit) override;
  absl::StatusOr<LdapResult> Modify(const std::string& dn,
                                    const std::vector<Modification>& mods) override;
  absl::StatusOr<int> StartModify(const std::string& dn,
                                  const std::vector<Modification>& mods) override;
  std::vector<Completion> PollModifies(absl::Duration wait) override;
  size_t OutstandingModifies() const override { return tickets_.size(); }
  absl::StatusOr<std::vector<DirectoryEntry>> SearchDeleted(
      const std::string& base, const std::string& filter,
      const std::vector<std::string>& attributes, int size_limit) override;
  // Paged searches and DC states go to the DC of the domain that holds
  // `base` (its own objects only; child domains' objects are left to their
  // own DCs). A base in no configured domain: kFailedPrecondition.
  absl::Status SearchPaged(const std::string& base, const std::string& filter,
                           const std::vector<std::string>& attributes, int page_size,
                           const PageSink& sink) override;
  absl::StatusOr<DcState> ReadDcState(const std::string& base) override;
  std::string BaseDn() const override { return forest_root_dn_; }
  // The DC of the domain written last (the GC before any write).
  std::string CurrentDc() const override;
  void Close() override;

 private:
  absl::StatusOr<const Domain*> WriteDomain(const std::string& dn) const;

  Directory* const global_catalog_;
  const std::string forest_root_dn_;
  const std::vector<Domain> domains_;
  const Domain* last_written_ = nullptr;
  // Our ticket -> (domain index, that directory's ticket).
  std::map<int, std::pair<size_t, int>> tickets_;
  int next_ticket_ = 0;
};

}  // namespace writeback::agent

#endif  // WRITEBACK_AGENT_DIRECTORY_FOREST_DIRECTORY_H_
