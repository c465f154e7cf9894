// Child-versus-parent metrics.
#include "worker/crossover/parent_agreement.h"

namespace quantd::worker {
namespace {

VersusParent Versus(const at::Tensor& parent, const at::Tensor& child, int64_t top_k) {
  VersusParent v;
  v.agreement = CompareOutputs(parent, child, top_k, std::nullopt);
  at::Tensor p = parent.flatten(1).to(at::kDouble), c = child.flatten(1).to(at::kDouble);
  v.mae = (p - c).abs().mean().item<double>();
  v.cosine = at::cosine_similarity(p, c, 1, 1e-12).mean().item<double>();
  return v;
}

}  // namespace

ParentAgreement CompareWithParents(const at::Tensor& child, const at::Tensor& parent_a,
                                   const at::Tensor& parent_b, int64_t top_k,
                                   const std::optional<at::Tensor>& labels) {
  ParentAgreement r;
  r.a = Versus(parent_a, child, top_k);
  r.b = Versus(parent_b, child, top_k);
  at::Tensor top = child.argmax(1), top_a = parent_a.argmax(1), top_b = parent_b.argmax(1);
  r.oracle_agreement = (top.eq(top_a) | top.eq(top_b)).to(at::kDouble).mean().item<double>();
  r.parents_agreement = top_a.eq(top_b).to(at::kDouble).mean().item<double>();
  if (labels) r.accuracy = top.eq(*labels).to(at::kDouble).mean().item<double>();
  return r;
}

}  // namespace quantd::worker
