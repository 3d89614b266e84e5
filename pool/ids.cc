#include "pool/ids.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"

namespace foxpool::pool {

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  size_t filled = 0;
  while (filled < bytes) {
    ssize_t n = getrandom(raw.data() + filled, bytes - filled, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::abort();  // No safe fallback for secrets.
    }
    filled += static_cast<size_t>(n);
  }
  return absl::BytesToHexString(raw);
}

LeaseId LeaseId::Random() { return LeaseId(RandomHex(16)); }

}  // namespace foxpool::pool
