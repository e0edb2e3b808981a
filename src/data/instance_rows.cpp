#include "data/instance_rows.h"

#include "common/check.h"

namespace kd::data {

Instance padded_row(const text::CompactInstance& inst, size_t max_seq_length,
                    size_t max_predictions) {
  const size_t T = max_seq_length, P = max_predictions;
  KD_CHECK(inst.tokens.size() <= T && inst.masked_positions.size() <= P,
           "instance of {} tokens / {} predictions exceeds {} / {}", inst.tokens.size(),
           inst.masked_positions.size(), T, P);
  Instance r;
  r.input_ids.assign(T, 0);
  r.input_mask.assign(T, 0);
  r.segment_ids.assign(T, 0);
  r.masked_lm_positions.assign(P, 0);
  r.masked_lm_ids.assign(P, 0);
  for (size_t i = 0; i < inst.tokens.size(); ++i) {
    r.input_ids[i] = inst.tokens[i];
    r.input_mask[i] = 1;
    r.segment_ids[i] = i > inst.segment_a_end ? 1 : 0;
  }
  for (size_t k = 0; k < inst.masked_positions.size(); ++k) {
    r.masked_lm_positions[k] = inst.masked_positions[k];
    r.masked_lm_ids[k] = inst.masked_ids[k];
  }
  r.next_sentence_label = inst.random_next ? 1 : 0;
  return r;
}

}  // namespace kd::data
