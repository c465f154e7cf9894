// EXPORT in the scheduler core: the spec's defaults and the errors that name its fields.
#include <gtest/gtest.h>

#include "test_util/scheduler_harness.h"

namespace quantd::server {
namespace {

using testing::SchedulerHarness;

class ExportSpecTest : public ::testing::Test {
 protected:
  ExportSpecTest() {
    for (char c : {'c', 'd', 'e'}) {
      EXPECT_TRUE(h_.artifacts->Record(std::string(64, c), 100, "application/json", 0).ok());
    }
  }
  static v1::JobSpec Gguf() {
    v1::JobSpec spec;
    v1::ExportSpec* e = spec.mutable_export_();
    e->set_format(v1::GGUF);
    auto* config = e->add_checkpoint();
    config->set_name("config.json");
    config->set_sha256(std::string(64, 'c'));
    auto* model = e->add_checkpoint();
    model->set_name("model.safetensors");
    model->set_sha256(std::string(64, 'd'));
    e->mutable_evaluation()->set_ids_npy_sha256(std::string(64, 'e'));
    return spec;
  }
  void ExpectError(const v1::JobSpec& spec, const std::string& message) {
    auto s = h_.scheduler->Submit(spec).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << message << ": " << s;
    EXPECT_NE(s.message().find(message), std::string::npos) << s;
  }
  SchedulerHarness h_;
};

TEST_F(ExportSpecTest, DefaultsFollowTheRuntimeCheck) {
  auto r = h_.scheduler->Submit(Gguf());
  ASSERT_TRUE(r.ok()) << r.status();
  const v1::ExportSpec& e = r->job.spec().export_();
  EXPECT_EQ(r->job.kind(), v1::EXPORT);
  EXPECT_DOUBLE_EQ(e.max_ppl_difference(), 0.005);
  EXPECT_EQ(e.evaluation().max_rows(), 64u);
  EXPECT_EQ(e.evaluation().seq_len(), 128u);
  EXPECT_EQ(e.new_tokens(), 16u);
  EXPECT_EQ(e.agree_tokens(), 4u);
}

TEST_F(ExportSpecTest, ErrorsNameTheField) {
  v1::JobSpec no_format = Gguf();
  no_format.mutable_export_()->clear_format();
  ExpectError(no_format, "export.format: required (supported: gguf, onnx)");
  v1::JobSpec no_weights = Gguf();
  no_weights.mutable_export_()->mutable_checkpoint()->RemoveLast();
  ExpectError(no_weights, "export.checkpoint: neither model.safetensors nor");
  v1::JobSpec no_eval = Gguf();
  no_eval.mutable_export_()->clear_evaluation();
  ExpectError(no_eval, "export.evaluation: give ids_npy_sha256 or text_sha256");
  v1::JobSpec loose = Gguf();
  loose.mutable_export_()->set_max_ppl_difference(2);
  ExpectError(loose, "export.max_ppl_difference: a fraction in (0, 1)");
  v1::JobSpec agree = Gguf();
  agree.mutable_export_()->set_agree_tokens(40);
  ExpectError(agree, "export.agree_tokens");
  v1::JobSpec escape = Gguf();
  escape.mutable_export_()->mutable_checkpoint(0)->set_name("../config.json");
  ExpectError(escape, "export.checkpoint[0].name: '../config.json' is not a file name");

  // The same checks on WEIGHT_ONLY_LLM's export list.
  v1::JobSpec llm;
  auto* w = llm.mutable_weight_only_llm();
  *w->mutable_checkpoint() = Gguf().export_().checkpoint();
  w->mutable_calibration()->set_ids_npy_sha256(std::string(64, 'e'));
  w->mutable_evaluation()->set_ids_npy_sha256(std::string(64, 'e'));
  w->add_export_(v1::GGUF);
  w->add_export_(v1::GGUF);
  ExpectError(llm, "weight_only_llm.export[1]: listed twice");
}

// ONNX takes an int8 TorchScript archive and input rows; the gates default to the issue's.
TEST_F(ExportSpecTest, OnnxDefaultsAndErrorsNameTheField) {
  v1::JobSpec spec;
  v1::ExportSpec* e = spec.mutable_export_();
  e->set_format(v1::ONNX);
  e->set_model_sha256(std::string(64, 'd'));
  e->mutable_inputs()->set_npy_sha256(std::string(64, 'e'));
  auto ok = h_.scheduler->Submit(spec);
  ASSERT_TRUE(ok.ok()) << ok.status();
  const v1::ExportSpec& r = ok->job.spec().export_();
  EXPECT_DOUBLE_EQ(r.min_within_one_step(), 0.99);
  EXPECT_DOUBLE_EQ(r.min_top1_agreement(), 0.999);
  EXPECT_DOUBLE_EQ(r.min_plcc(), 0.999);
  EXPECT_EQ(r.latency_iterations(), 50u);

  v1::JobSpec no_inputs = spec;
  no_inputs.mutable_export_()->clear_inputs();
  ExpectError(no_inputs, "export.inputs: required");
  v1::JobSpec folder = spec;
  *folder.mutable_export_()->mutable_checkpoint() = Gguf().export_().checkpoint();
  ExpectError(folder, "export.model_sha256: give export.checkpoint or export.model_sha256");
  // A checkpoint folder alone exports to MatMulNBits ONNX, with the GGUF path's defaults.
  v1::JobSpec llm = Gguf();
  llm.mutable_export_()->set_format(v1::ONNX);
  auto llm_ok = h_.scheduler->Submit(llm);
  ASSERT_TRUE(llm_ok.ok()) << llm_ok.status();
  EXPECT_DOUBLE_EQ(llm_ok->job.spec().export_().max_ppl_difference(), 0.005);
  v1::JobSpec loose = spec;
  loose.mutable_export_()->set_min_plcc(1.5);
  ExpectError(loose, "export.min_plcc: a fraction in (0, 1]");
  v1::JobSpec gguf_model = Gguf();
  gguf_model.mutable_export_()->set_model_sha256(std::string(64, 'd'));
  ExpectError(gguf_model, "export.model_sha256: gguf exports a language-model checkpoint");

  // `export` lists on the int8 kinds take onnx only, once.
  v1::JobSpec ptq;
  ptq.mutable_ptq()->set_model_sha256(std::string(64, 'd'));
  ptq.mutable_ptq()->mutable_inputs()->set_npy_sha256(std::string(64, 'e'));
  ptq.mutable_ptq()->add_export_(v1::ONNX);
  EXPECT_TRUE(h_.scheduler->Submit(ptq).ok());
  ptq.mutable_ptq()->add_export_(v1::GGUF);
  ExpectError(ptq, "ptq.export[1]: gguf does not apply to this result (use onnx)");
  v1::JobSpec h2h;
  h2h.mutable_head_to_head()->set_model_sha256(std::string(64, 'd'));
  h2h.mutable_head_to_head()->mutable_inputs()->set_npy_sha256(std::string(64, 'e'));
  h2h.mutable_head_to_head()->add_export_(v1::ONNX);
  auto planned = h_.scheduler->Submit(h2h);
  ASSERT_TRUE(planned.ok()) << planned.status();
  for (const auto& c : planned->job.spec().head_to_head().candidates()) {
    const auto& formats = c.has_ptq() ? c.ptq().export_() : c.qat().export_();
    ASSERT_EQ(formats.size(), 1) << c.name() << ": every candidate inherits the job's export";
    EXPECT_EQ(formats[0], v1::ONNX);
  }
}

// VALIDATE with backend onnxruntime takes the float TorchScript and an ONNX file in place of the
// quantized TorchScript; the thresholds are the same.
TEST_F(ExportSpecTest, ValidatingAnOnnxFileNamesItsFields) {
  v1::JobSpec spec;
  v1::ValidateSpec* v = spec.mutable_validate();
  v->set_backend(v1::ONNXRUNTIME);
  v->set_float_model_sha256(std::string(64, 'c'));
  v->set_onnx_sha256(std::string(64, 'd'));
  v->mutable_inputs()->set_npy_sha256(std::string(64, 'e'));
  auto ok = h_.scheduler->Submit(spec);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_DOUBLE_EQ(ok->job.spec().validate().thresholds().max_plcc_drop(), 0.01);

  v1::JobSpec both = spec;
  both.mutable_validate()->set_quantized_model_sha256(std::string(64, 'd'));
  ExpectError(both, "validate.quantized_model_sha256: not used by backend onnxruntime");
  v1::JobSpec missing = spec;
  missing.mutable_validate()->clear_onnx_sha256();
  ExpectError(missing, "validate.onnx_sha256");
  v1::JobSpec torchscript = spec;
  torchscript.mutable_validate()->set_backend(v1::TORCHSCRIPT);
  torchscript.mutable_validate()->set_quantized_model_sha256(std::string(64, 'd'));
  ExpectError(torchscript, "validate.onnx_sha256: an ONNX file needs backend onnxruntime");
}

// VALIDATE with backend llama.cpp takes a GGUF file and token ids, not TorchScript fields.
TEST_F(ExportSpecTest, ValidatingAGgufFileNamesItsFields) {
  v1::JobSpec spec;
  v1::ValidateSpec* v = spec.mutable_validate();
  v->set_backend(v1::LLAMA_CPP);
  v->set_gguf_sha256(std::string(64, 'd'));
  v->mutable_evaluation()->set_ids_npy_sha256(std::string(64, 'e'));
  auto ok = h_.scheduler->Submit(spec);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_DOUBLE_EQ(ok->job.spec().validate().max_runtime_difference(), 0.005);
  EXPECT_FALSE(ok->job.spec().validate().has_max_ppl_rise()) << "no float checkpoint, no rise";

  v1::JobSpec mixed = spec;
  mixed.mutable_validate()->set_float_model_sha256(std::string(64, 'c'));
  ExpectError(mixed, "validate.float_model_sha256: not used by backend llama.cpp");
  v1::JobSpec rise = spec;
  rise.mutable_validate()->set_max_ppl_rise(0.01);
  ExpectError(rise, "validate.max_ppl_rise: needs validate.float_checkpoint");
  v1::JobSpec torchscript = spec;
  torchscript.mutable_validate()->set_backend(v1::TORCHSCRIPT);
  ExpectError(torchscript, "validate.gguf_sha256: a GGUF file needs backend llama_cpp");
  v1::JobSpec no_file = spec;
  no_file.mutable_validate()->clear_gguf_sha256();
  ExpectError(no_file, "validate.gguf_sha256");
}

}  // namespace
}  // namespace quantd::server
