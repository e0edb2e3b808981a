// Process-wide malloc tuning for training. LibTorch's CPU tensors come from glibc malloc, which
// serves blocks over 32 MB (e.g. [masked tokens, vocab] logits, the [vocab, hidden] embedding
// gradient) with fresh mmap()s and returns them on free: every step then pays page faults and
// kernel zeroing for the same buffers. Keeping all blocks on the heap, untrimmed, lets the
// buffers of one step be reused by the next (bench: ~10% of a bf16 step on this machine).
#pragma once

namespace kd {

void configure_allocator_for_training();

}  // namespace kd
