#include "dist/data_plane_check.h"

#include "common/check.h"

namespace kd::dist {
namespace {

thread_local int g_model_tensor_scopes = 0;

class DataPlaneCheck : public Communicator {
 public:
  explicit DataPlaneCheck(std::shared_ptr<Communicator> inner) : inner_(std::move(inner)) {}
  int rank() const override { return inner_->rank(); }
  int size() const override { return inner_->size(); }
  std::string backend() const override { return inner_->backend(); }

  void allreduce(torch::Tensor& t, ReduceOp op) override {
    check(t, "allreduce");
    inner_->allreduce(t, op);
  }
  std::unique_ptr<Work> allreduce_async(torch::Tensor& t, ReduceOp op) override {
    check(t, "allreduce_async");
    return inner_->allreduce_async(t, op);
  }
  void broadcast(torch::Tensor& t, int root) override {
    check(t, "broadcast");
    inner_->broadcast(t, root);
  }
  void barrier() override { inner_->barrier(); }
  std::shared_ptr<Communicator> split(int color, int key) override {
    auto group = inner_->split(color, key);
    return group ? std::make_shared<DataPlaneCheck>(std::move(group)) : nullptr;
  }
  double allreduce_scalar(double value, ReduceOp op) override {
    return inner_->allreduce_scalar(value, op);
  }
  void allreduce_values(std::vector<double>& values, ReduceOp op) override {
    inner_->allreduce_values(values, op);
  }
  std::string broadcast_string(const std::string& value, int root) override {
    return inner_->broadcast_string(value, root);
  }
  std::vector<std::string> gather_strings(const std::string& value, int root) override {
    return inner_->gather_strings(value, root);
  }

 private:
  static void check(const torch::Tensor& t, const char* what) {
    KD_CHECK_HINT(!t.device().is_cpu() || ModelTensorScope::active(),
                  "reduce host values with Communicator::allreduce_host (the control plane)",
                  "data-plane check (KD_CHECK_DATA_PLANE): {} of a host tensor {} {} that is not "
                  "a model tensor; NCCL accepts only device tensors",
                  what, c10::toString(t.scalar_type()), c10::str(t.sizes()));
  }

  std::shared_ptr<Communicator> inner_;
};

}  // namespace

ModelTensorScope::ModelTensorScope() {
  ++g_model_tensor_scopes;
}
ModelTensorScope::~ModelTensorScope() {
  --g_model_tensor_scopes;
}
bool ModelTensorScope::active() {
  return g_model_tensor_scopes > 0;
}

void Communicator::allreduce_host(torch::Tensor& host, ReduceOp op) {
  KD_CHECK(host.device().is_cpu() && host.is_contiguous(),
           "allreduce_host: a contiguous CPU tensor is needed, got {} on {}",
           c10::str(host.sizes()), c10::str(host.device()));
  auto values = host.to(torch::kFloat64).contiguous();
  std::vector<double> v(values.data_ptr<double>(), values.data_ptr<double>() + values.numel());
  allreduce_values(v, op);
  host.copy_(torch::from_blob(v.data(), host.sizes(), torch::kFloat64));
}

std::shared_ptr<Communicator> with_data_plane_check(std::shared_ptr<Communicator> inner) {
  return std::make_shared<DataPlaneCheck>(std::move(inner));
}

}  // namespace kd::dist
