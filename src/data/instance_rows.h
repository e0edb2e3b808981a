// A pre-training instance (text/pretraining_instances.h) as one padded row of the HDF5 shard
// layout. Writers append unpadded instances (ShardWriter::append_unpadded); this is the
// reference the tests compare them with.
#pragma once
#include "data/shard_format.h"
#include "text/pretraining_instances.h"

namespace kd::data {

// Pads to max_seq_length / max_predictions; next_sentence_label = 1 for a random next segment.
Instance padded_row(const text::CompactInstance& inst, size_t max_seq_length,
                    size_t max_predictions);

}  // namespace kd::data
