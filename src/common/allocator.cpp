#include "common/allocator.h"

#include <malloc.h>

namespace kd {

void configure_allocator_for_training() {
  mallopt(M_MMAP_MAX, 0);              // never mmap: large blocks come from the heap and are reused
  mallopt(M_TRIM_THRESHOLD, 1 << 30);  // and the heap top is not given back between steps
}

}  // namespace kd
