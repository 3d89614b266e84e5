// Checks that ThreadSanitizer sees Debian's absl::Mutex through
// tsan_absl_mutex.cc (linked into every executable of a TSan build): hand-offs
// through Lock/Unlock, Await and Notification report nothing, and a real race
// is still reported (run with --race; ctest expects the report).
#include <cstdio>
#include <cstring>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

int main(int argc, char** argv) {
  bool race = argc > 1 && std::strcmp(argv[1], "--race") == 0;
  absl::Mutex mu;
  int guarded = 0;
  int unguarded = 0;
  auto add = [&] {
    for (int i = 0; i < 1000; ++i) {
      absl::MutexLock lock(&mu);
      ++guarded;
    }
    if (race) ++unguarded;
  };
  std::thread a(add), b(add);
  a.join();
  b.join();

  // Written under the lock by another thread, read after Await.
  bool ready = false;
  int data = 0;
  std::thread writer([&] {
    absl::MutexLock lock(&mu);
    data = 42;
    ready = true;
  });
  {
    absl::MutexLock lock(&mu);
    mu.AwaitWithTimeout(absl::Condition(&ready), absl::Seconds(30));
    data += 1;
  }
  writer.join();

  // Written before Notify, read after the wait (which may take no lock).
  absl::Notification notified;
  int payload = 0;
  std::thread notifier([&] {
    payload = 7;
    notified.Notify();
  });
  notifier.join();
  if (!notified.WaitForNotificationWithTimeout(absl::Seconds(30))) return 1;
  payload += 1;

  std::printf("guarded=%d data=%d payload=%d unguarded=%d\n", guarded, data, payload, unguarded);
  return guarded == 2000 && data == 43 && payload == 8 ? 0 : 1;
}
