// A scratch SQLite store holding one forest, for dispatcher tests that drive
// a real Dispatcher with fake sinks (fake_sink.h).
//
//   class MyTest : public StoreFixture {};
//   TEST_F(MyTest, X) {
//     dispatcher_ = std::make_unique<Dispatcher>(store_.get(), Clock::Real(), options);
//   }
#ifndef WRITEBACK_TESTS_CONTROLLER_DISPATCH_STORE_FIXTURE_H_
#define WRITEBACK_TESTS_CONTROLLER_DISPATCH_STORE_FIXTURE_H_

#include <stdlib.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "controller/dispatch/dispatcher.h"
#include "controller/store/sqlite_store.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace writeback::controller {

class StoreFixture : public ::testing::Test {
 public:
  static constexpr char kFixtureForest[] = "corp.example.test";

 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dispatch_test.XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto store = SqliteStore::Open(dir_ + "/state.db");
    ASSERT_OK(store);
    store_ = std::move(*store);
    ForestRecord forest;
    forest.name = kFixtureForest;
    forest.scope_ous = {"OU=Mailboxes,DC=corp"};
    ASSERT_OK(store_->AddForest(forest));
  }
  // The dispatcher goes first: it uses the store.
  void TearDown() override {
    dispatcher_.reset();
    store_.reset();
    std::system(("rm -rf " + dir_).c_str());
  }

  std::string dir_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

}  // namespace writeback::controller

#endif  // WRITEBACK_TESTS_CONTROLLER_DISPATCH_STORE_FIXTURE_H_
