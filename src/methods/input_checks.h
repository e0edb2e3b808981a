// Checks of what a command will read, run before its first step so that a wrong path fails at
// once, naming the config key, not after hours of training (e.g. distill's held-out shards,
// which are read only at the end).
#pragma once
#include <string>
#include <vector>

namespace kd::methods {

// Every glob of `key` (e.g. "data.heldout") matches at least one file; nothing to check when
// `globs` is empty and `required` is false.
void require_globs(const std::string& key, const std::vector<std::string>& globs,
                   bool required = true);
// `dir` (the value of `key`) is a model directory: config.json, model.safetensors, and
// vocab.txt when the command tokenises with the model's own vocabulary.
void require_model_dir(const std::string& key, const std::string& dir, bool with_vocab = false);
// `path` (the value of `key`) is an existing file.
void require_file(const std::string& key, const std::string& path);
// `dir` (the value of `key`) is an existing directory.
void require_dir(const std::string& key, const std::string& dir);

}  // namespace kd::methods
