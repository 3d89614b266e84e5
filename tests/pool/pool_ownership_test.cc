// A lease belongs to the principal that acquired it: another principal may
// not use, renew, release or revoke it, nor take over its request id.
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "pool/pool.h"
#include "tests/pool/pool_fixture.h"

namespace foxpool::pool {
namespace {

class PoolOwnershipTest : public PoolTest {
 protected:
  void SetUp() override { MakePool(PoolOptions{.size = 2}); }

  Grant AcquireAs(std::string principal, std::string request_id = "") {
    AcquireOptions options;
    options.principal = std::move(principal);
    options.request_id = std::move(request_id);
    AcquireResult* result = Acquire(absl::Minutes(1), std::move(options));
    EXPECT_TRUE(result->grant.ok()) << result->grant.status();
    return result->grant.ok() ? *result->grant : Grant{};
  }
};

TEST_F(PoolOwnershipTest, TheOwnerUsesRenewsAndReleases) {
  Grant grant = AcquireAs("alice");
  EXPECT_TRUE(pool_->Use(grant.lease, "alice").ok());
  EXPECT_TRUE(pool_->Renew(grant.lease, "alice").ok());
  EXPECT_TRUE(pool_->Release(grant.lease, ReleaseMode::kKeep, "alice").ok());
}

TEST_F(PoolOwnershipTest, AnotherPrincipalIsDeniedAndTheLeaseLivesOn) {
  Grant grant = AcquireAs("alice");
  for (absl::string_view other : {"bob", ""}) {
    absl::StatusOr<LeaseUse> use = pool_->Use(grant.lease, other);
    EXPECT_EQ(use.status().code(), absl::StatusCode::kPermissionDenied) << other;
    EXPECT_EQ(use.status().message(), "lease belongs to another principal");
    EXPECT_EQ(pool_->Renew(grant.lease, other).status().code(),
              absl::StatusCode::kPermissionDenied);
    EXPECT_EQ(pool_->Release(grant.lease, ReleaseMode::kReset, other).code(),
              absl::StatusCode::kPermissionDenied);
  }
  EXPECT_EQ(pool_->Status().leased, 1);
  EXPECT_TRUE(pool_->Use(grant.lease, "alice").ok());
}

TEST_F(PoolOwnershipTest, RevokeWithAnOwnerOnlyEndsThatOwnersLease) {
  Grant grant = AcquireAs("alice");
  EXPECT_EQ(pool_->Revoke(grant.window, "bob").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(pool_->Status().leased, 1);
  EXPECT_TRUE(pool_->Revoke(grant.window, "alice").ok());
  EXPECT_EQ(pool_->Use(grant.lease, "alice").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(PoolOwnershipTest, RevokeWithoutAnOwnerEndsAnyLease) {
  Grant grant = AcquireAs("alice");
  EXPECT_TRUE(pool_->Revoke(grant.window).ok());
  EXPECT_EQ(pool_->Status().leased, 0);
}

TEST_F(PoolOwnershipTest, LeasesSayWhoHoldsThem) {
  AcquireAs("alice");
  AcquireAs("bob");
  std::vector<LeaseInfo> leases = pool_->Leases();
  ASSERT_EQ(leases.size(), 2u);
  std::set<std::string> principals{leases[0].principal, leases[1].principal};
  EXPECT_EQ(principals, (std::set<std::string>{"alice", "bob"}));
}

TEST_F(PoolOwnershipTest, ARequestIdCannotBeTakenOverByAnotherPrincipal) {
  struct : PoolObserver {
    void OnAcquireRefused(AcquireRefusal why, absl::Duration) override {
      refusals.push_back(std::string(ToString(why)));
    }
    std::vector<std::string> refusals;
  } observer;
  MakePool(PoolOptions{.size = 2}, /*auto_start=*/true, nullptr, &observer);
  Grant grant = AcquireAs("alice", "req-1");
  AcquireOptions options;
  options.principal = "bob";
  options.request_id = "req-1";
  AcquireResult* result = Acquire(absl::Minutes(1), std::move(options));
  EXPECT_EQ(result->answers, 1);
  EXPECT_EQ(result->grant.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(observer.refusals, std::vector<std::string>{"not_owner"});
  // The owner's retry still gets its lease back.
  EXPECT_EQ(AcquireAs("alice", "req-1").lease, grant.lease);
  pool_.reset();  // Before the observer goes.
}

TEST_F(PoolOwnershipTest, AnonymousLeasesWorkAsBefore) {
  Grant grant = MustAcquire();
  EXPECT_TRUE(pool_->Use(grant.lease).ok());
  EXPECT_TRUE(pool_->Renew(grant.lease).ok());
  EXPECT_EQ(pool_->Use(grant.lease, "mallory").status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(pool_->Release(grant.lease, ReleaseMode::kReset).ok());
}

}  // namespace
}  // namespace foxpool::pool
