// ThreadSanitizer annotations for Debian's prebuilt Abseil synchronization.
//
// libabsl_synchronization.so is not built with -fsanitize=thread, so TSan
// does not see absl::Mutex lock and unlock: every access guarded by one would
// read as a data race. TSan builds link this file into every executable
// (cmake/sanitizers.cmake); the definitions here win over the shared
// library's (an executable's symbols come first in the dynamic lookup, also
// for the library's own calls, which go through its PLT), tell TSan what
// each call means with the same __tsan_mutex_* annotations Abseil itself
// makes when built with TSan, and call the real function, found with
// dlsym(RTLD_NEXT).
//
// Between a pre and a post annotation TSan ignores the thread's memory
// accesses: a Condition that absl evaluates inside Lock/Unlock/Await is not
// checked (absl's own TSan build does not check it as a plain access either).
#include <dlfcn.h>
#include <sanitizer/tsan_interface.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/base/options.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace {

#define FOXPOOL_STR2(x) #x
#define FOXPOOL_STR(x) FOXPOOL_STR2(x)

// The real function `tail`: its mangled name after "absl::<inline namespace>::".
template <typename F>
F Real(const char* tail) {
  const char* ns = FOXPOOL_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  // A const member's name starts "_ZNK": given as a tail starting with 'K'.
  bool is_const = tail[0] == 'K';
  std::string name = std::string(is_const ? "_ZNK" : "_ZN") + "4absl" +
                     std::to_string(std::strlen(ns)) + ns + (tail + is_const);
  void* f = dlsym(RTLD_NEXT, name.c_str());
  if (f == nullptr) {
    std::fprintf(stderr, "tsan_absl_mutex: %s not found\n", name.c_str());
    std::abort();
  }
  return reinterpret_cast<F>(f);
}

// Mutex's word: a writer holds it when this bit is set (absl/synchronization/
// mutex.cc, kMuWriter); tells whether an Await gives up a reader or a writer lock.
constexpr intptr_t kMuWriter = 0x0008;
unsigned HeldFlags(const absl::Mutex* mu) {
  static_assert(sizeof(absl::Mutex) == sizeof(std::atomic<intptr_t>));
  auto word = reinterpret_cast<const std::atomic<intptr_t>*>(mu)->load(std::memory_order_relaxed);
  return (word & kMuWriter) != 0 ? 0 : __tsan_mutex_read_lock;
}

// Abseil's functions call each other through the PLT (AwaitWithTimeout
// calls AwaitWithDeadline, Notification calls Lock...): only the outermost
// call on a thread is annotated.
thread_local int depth = 0;

// Runs `call` between `pre()` and `post(result)` when it is the outermost
// call; `call` returns a value (0 for the void functions).
template <typename Pre, typename Call, typename Post>
auto Annotated(Pre pre, Call call, Post post) {
  bool outer = depth == 0;
  if (outer) pre();
  ++depth;
  auto result = call();
  --depth;
  if (outer) post(result);
  return result;
}

template <typename... Args>
using Fn = void (*)(absl::Mutex*, Args...);
template <typename... Args>
using BoolFn = bool (*)(absl::Mutex*, Args...);

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

namespace {

// A (reader or writer) lock; `flags` may add __tsan_mutex_try_lock.
template <typename Call>
auto Locking(Mutex* mu, unsigned flags, Call call) {
  return Annotated([&] { __tsan_mutex_pre_lock(mu, flags); }, call,
                   [&](auto locked) {
                     bool failed = (flags & __tsan_mutex_try_lock) != 0 && !locked;
                     __tsan_mutex_post_lock(mu, flags | (failed ? __tsan_mutex_try_lock_failed : 0),
                                            0);
                   });
}

template <typename Call>
auto Unlocking(Mutex* mu, unsigned flags, Call call) {
  return Annotated([&] { __tsan_mutex_pre_unlock(mu, flags); }, call,
                   [&](auto) { __tsan_mutex_post_unlock(mu, flags); });
}

// Await* and CondVar::Wait*: the lock is given up while waiting and held
// again on return, so TSan sees an unlock before and a lock after.
template <typename Call>
auto Relocking(Mutex* mu, Call call) {
  unsigned flags = HeldFlags(mu);
  return Annotated([&] { __tsan_mutex_pre_unlock(mu, flags); }, call,
                   [&](auto) {
                     __tsan_mutex_post_unlock(mu, flags);
                     __tsan_mutex_pre_lock(mu, flags);
                     __tsan_mutex_post_lock(mu, flags, 0);
                   });
}

// Adapts a void call to Annotated.
template <typename Call>
auto Void(Call call) {
  return [call] {
    call();
    return true;
  };
}

}  // namespace

Mutex::~Mutex() {
  static auto real = Real<Fn<>>("5MutexD2Ev");
  __tsan_mutex_destroy(this, __tsan_mutex_not_static);
  real(this);
}

void Mutex::Lock() {
  static auto real = Real<Fn<>>("5Mutex4LockEv");
  Locking(this, 0, Void([this] { real(this); }));
}

void Mutex::ReaderLock() {
  static auto real = Real<Fn<>>("5Mutex10ReaderLockEv");
  Locking(this, __tsan_mutex_read_lock, Void([this] { real(this); }));
}

bool Mutex::TryLock() {
  static auto real = Real<BoolFn<>>("5Mutex7TryLockEv");
  return Locking(this, __tsan_mutex_try_lock, [this] { return real(this); });
}

bool Mutex::ReaderTryLock() {
  static auto real = Real<BoolFn<>>("5Mutex13ReaderTryLockEv");
  return Locking(this, __tsan_mutex_read_lock | __tsan_mutex_try_lock,
                 [this] { return real(this); });
}

void Mutex::Unlock() {
  static auto real = Real<Fn<>>("5Mutex6UnlockEv");
  Unlocking(this, 0, Void([this] { real(this); }));
}

void Mutex::ReaderUnlock() {
  static auto real = Real<Fn<>>("5Mutex12ReaderUnlockEv");
  Unlocking(this, __tsan_mutex_read_lock, Void([this] { real(this); }));
}

// LockWhen*: a lock (held on return even when the wait timed out).
void Mutex::LockWhen(const Condition& cond) {
  static auto real = Real<Fn<const Condition&>>("5Mutex8LockWhenERKNS0_9ConditionE");
  Locking(this, 0, Void([&] { real(this, cond); }));
}

void Mutex::ReaderLockWhen(const Condition& cond) {
  static auto real = Real<Fn<const Condition&>>("5Mutex14ReaderLockWhenERKNS0_9ConditionE");
  Locking(this, __tsan_mutex_read_lock, Void([&] { real(this, cond); }));
}

bool Mutex::LockWhenWithTimeout(const Condition& cond, absl::Duration timeout) {
  static auto real = Real<BoolFn<const Condition&, absl::Duration>>(
      "5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return Locking(this, 0, [&] { return real(this, cond, timeout); });
}

bool Mutex::LockWhenWithDeadline(const Condition& cond, absl::Time deadline) {
  static auto real = Real<BoolFn<const Condition&, absl::Time>>(
      "5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return Locking(this, 0, [&] { return real(this, cond, deadline); });
}

bool Mutex::ReaderLockWhenWithTimeout(const Condition& cond, absl::Duration timeout) {
  static auto real = Real<BoolFn<const Condition&, absl::Duration>>(
      "5Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return Locking(this, __tsan_mutex_read_lock, [&] { return real(this, cond, timeout); });
}

bool Mutex::ReaderLockWhenWithDeadline(const Condition& cond, absl::Time deadline) {
  static auto real = Real<BoolFn<const Condition&, absl::Time>>(
      "5Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return Locking(this, __tsan_mutex_read_lock, [&] { return real(this, cond, deadline); });
}

void Mutex::Await(const Condition& cond) {
  static auto real = Real<Fn<const Condition&>>("5Mutex5AwaitERKNS0_9ConditionE");
  Relocking(this, Void([&] { real(this, cond); }));
}

bool Mutex::AwaitWithTimeout(const Condition& cond, absl::Duration timeout) {
  static auto real = Real<BoolFn<const Condition&, absl::Duration>>(
      "5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  return Relocking(this, [&] { return real(this, cond, timeout); });
}

bool Mutex::AwaitWithDeadline(const Condition& cond, absl::Time deadline) {
  static auto real = Real<BoolFn<const Condition&, absl::Time>>(
      "5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  return Relocking(this, [&] { return real(this, cond, deadline); });
}

void CondVar::Wait(Mutex* mu) {
  static auto real = Real<void (*)(CondVar*, Mutex*)>("7CondVar4WaitEPNS0_5MutexE");
  Relocking(mu, Void([&] { real(this, mu); }));
}

bool CondVar::WaitWithTimeout(Mutex* mu, absl::Duration timeout) {
  static auto real = Real<bool (*)(CondVar*, Mutex*, absl::Duration)>(
      "7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  return Relocking(mu, [&] { return real(this, mu, timeout); });
}

bool CondVar::WaitWithDeadline(Mutex* mu, absl::Time deadline) {
  static auto real = Real<bool (*)(CondVar*, Mutex*, absl::Time)>(
      "7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  return Relocking(mu, [&] { return real(this, mu, deadline); });
}

// Notification: a waiter that finds it already notified takes no lock, so
// Notify releases and a successful wait acquires, explicitly (its own
// mutex's calls inside are not annotated: not outermost).
void Notification::Notify() {
  static auto real = Real<void (*)(Notification*)>("12Notification6NotifyEv");
  Annotated([&] { __tsan_release(this); }, Void([&] { real(this); }), [](bool) {});
}

void Notification::WaitForNotification() const {
  static auto real = Real<void (*)(const Notification*)>("K12Notification19WaitForNotificationEv");
  auto* self = const_cast<Notification*>(this);
  Annotated([] {}, Void([&] { real(this); }), [&](bool) { __tsan_acquire(self); });
}

bool Notification::WaitForNotificationWithTimeout(absl::Duration timeout) const {
  static auto real = Real<bool (*)(const Notification*, absl::Duration)>(
      "K12Notification30WaitForNotificationWithTimeoutENS0_8DurationE");
  auto* self = const_cast<Notification*>(this);
  return Annotated([] {}, [&] { return real(this, timeout); },
                   [&](bool notified) {
                     if (notified) __tsan_acquire(self);
                   });
}

bool Notification::WaitForNotificationWithDeadline(absl::Time deadline) const {
  static auto real = Real<bool (*)(const Notification*, absl::Time)>(
      "K12Notification31WaitForNotificationWithDeadlineENS0_4TimeE");
  auto* self = const_cast<Notification*>(this);
  return Annotated([] {}, [&] { return real(this, deadline); },
                   [&](bool notified) {
                     if (notified) __tsan_acquire(self);
                   });
}

ABSL_NAMESPACE_END
}  // namespace absl
