"""The GPU benchmark scripts run their logic on the CPU too, so they cannot rot between device sessions.

Their figures come from the GPU (benchmarks/RESULTS.md); here only what they compute is checked.
"""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import gpu_decode_profile  # noqa: E402
import batch_generation  # noqa: E402
import decode_compile  # noqa: E402
import grpo_step  # noqa: E402
import think_lengths  # noqa: E402


def test_decode_profile_loop_decodes_like_generate_on_cpu(tmp_path):
    """The bare static-cache loop (the profile's subject) gives generate's greedy tokens (fp32, CPU)."""
    out = tmp_path / "profile.json"
    report = gpu_decode_profile.main(["--device", "cpu", "--batch", "2", "--prompt", "12", "--new", "5",
                                      "--cache", "8", "--only", "generate_plain", "loop_static", "--json", str(out)])
    rows = report["rows"]
    assert rows["loop_static"]["rows_same_as_generate"] == 2
    assert rows["generate_plain"]["steps"] == 5 and rows["generate_plain"]["ms_per_step"] > 0
    assert json.loads(out.read_text())["rows"].keys() == rows.keys()


def test_decode_profile_runs_the_decode_loop_rows_on_cpu(tmp_path):
    """models.decode_loop's rows: greedy equals generate's tokens; sampled and profiled rows run."""
    report = gpu_decode_profile.main(["--device", "cpu", "--batch", "2", "--prompt", "12", "--new", "5", "--cache", "8",
                                      "--only", "generate_plain", "decode_loop", "decode_loop_sampled", "decode_loop_profile"])
    rows = report["rows"]
    assert rows["decode_loop"]["rows_same_as_generate"] == 2 and rows["decode_loop"]["cache_len"] == 20
    assert rows["decode_loop_sampled"]["steps"] == 5
    assert rows["decode_loop_profile"]["top_kernels_ms_per_step"]


def test_grpo_step_reads_step_times_back_from_logs(tmp_path):
    run = tmp_path / "plain-2gpu"
    run.mkdir()
    records = [{"step": i + 1, "elapsed_s": t, "loss": 0.1, "reward": 50.0 + i, "completions/mean_length": 400.0}
               for i, t in enumerate([70.0, 82.0, 95.0, 108.0])]
    (run / "training_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (run / "training_summary.json").write_text(json.dumps({"device": "2 x test GPU", "versions": {"torch": "x"},
                                                           "peak_gpu_memory_gib": 12.5}))
    report = grpo_step.main(["--from-logs", "--out", str(tmp_path), "--json", str(tmp_path / "r.json")])
    figures = report["runs"]["plain-2gpu"]
    assert figures["gpus"] == 2 and figures["method"] == "plain" and figures["from_logs"]
    assert figures["step_times_s"] == [70.0, 12.0, 13.0, 13.0]
    assert figures["first_step_s"] == 70.0 and figures["step_s"] == 13.0 and figures["peak_gpu_memory_gib"] == 12.5
    assert report["device"] == "2 x test GPU"  # the machine that ran it, not this one
    assert "rollout_s" not in figures  # these records logged no rollout time


def test_grpo_step_splits_steps_into_rollouts_and_the_rest(tmp_path):
    run = tmp_path / "loop-1gpu"
    run.mkdir()
    records = [{"step": i + 1, "elapsed_s": t, "loss": 0.1, "reward": 1.0, "timing/rollout_s": g}
               for i, (t, g) in enumerate([(60.0, 55.0), (66.0, 4.0), (73.0, 5.0), (79.0, 4.5)])]
    (run / "training_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    figures = grpo_step.main(["--from-logs", "--out", str(tmp_path)])["runs"]["loop-1gpu"]
    assert figures["step_times_s"] == [60.0, 6.0, 7.0, 6.0]
    assert figures["rollout_times_s"] == [55.0, 4.0, 5.0, 4.5]
    assert figures["rollout_s"] == 4.5 and figures["rest_s"] == 2.0  # medians after the first step


def test_grpo_step_refuses_batches_that_do_not_split(tmp_path):
    args = grpo_step.argparse.Namespace(per_device=48, completions=128, recipe="r", steps=1, max_completion_length=8,
                                        learning_rate=1e-5, seed=1, init_adapter=None, model=None, extra=[])
    with pytest.raises(SystemExit, match="do not split"):
        grpo_step.command("loop", 1, args, tmp_path)


def test_grpo_step_commands_name_the_rollout_settings(tmp_path):
    args = grpo_step.argparse.Namespace(per_device=32, completions=128, recipe="r", steps=3, max_completion_length=8,
                                        learning_rate=1e-5, seed=1, init_adapter=None, model="m", extra=[])
    bf16 = grpo_step.command("loop-bf16", 1, args, tmp_path)
    assert bf16[bf16.index("--rollout_method") + 1] == "loop" and bf16[bf16.index("--rollout_dtype") + 1] == "bfloat16"
    fp32 = grpo_step.command("loop-fp32", 1, args, tmp_path)
    assert fp32[fp32.index("--rollout_dtype") + 1] == "float32"
    plain = grpo_step.command("plain", 1, args, tmp_path)
    assert plain[plain.index("--rollout_method") + 1] == "plain" and "--rollout_dtype" not in plain


def test_grpo_step_commands_for_the_optional_engines(tmp_path):
    args = grpo_step.argparse.Namespace(per_device=32, completions=128, recipe="r", steps=3, max_completion_length=8,
                                        learning_rate=1e-5, seed=1, init_adapter=None, model=None, extra=[],
                                        vllm_memory=0.25)
    vllm = grpo_step.command("vllm", 1, args, tmp_path)
    assert vllm[vllm.index("--use_vllm") + 1] == "True" and vllm[vllm.index("--vllm_mode") + 1] == "colocate"
    assert vllm[vllm.index("--vllm_gpu_memory_utilization") + 1] == "0.25" and "--use_unsloth" not in vllm
    unsloth = grpo_step.command("unsloth", 1, args, tmp_path)
    assert unsloth[unsloth.index("--use_unsloth") + 1] == "True" and "--use_vllm" not in unsloth
    assert unsloth[unsloth.index("--rollout_method") + 1] == "loop"


def test_batch_generation_times_both_methods_on_a_cpu(tmp_path):
    """The batched-eval benchmark on a tiny real model: the loop's greedy tokens are plain generate's (fp32)."""
    from models.tiny import build_tiny_model

    model = build_tiny_model(tmp_path / "tiny", arch="llama")
    report = batch_generation.main(["--model", str(model), "--device", "cpu", "--limit", "3", "--max-new-tokens", "6",
                                    "--json", str(tmp_path / "b.json")])
    loop, plain = report["methods"]["loop"], report["methods"]["plain"]
    assert loop["same_as_plain"] == 3 and loop["repeatable"] and plain["generated_tokens"] == loop["generated_tokens"]
    assert loop["seconds"] > 0 and "speedup_vs_plain" in loop
    assert json.loads((tmp_path / "b.json").read_text())["methods"].keys() == {"plain", "loop"}


def test_decode_compile_fused_norms_keep_the_models_logits():
    """graph-norm's norms (torch's rms_norm, transformers' arithmetic) give the model's own logits in fp32; every
    RMSNorm (2 a layer and the final one) is replaced, and only those."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(**dict(decode_compile.SMOLLM2_135M, num_hidden_layers=2, vocab_size=300, hidden_size=64,
                                intermediate_size=96, num_attention_heads=4, num_key_value_heads=2))
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).eval()
    for m in model.modules():  # weights away from 1, so a dropped weight would show
        if type(m).__name__.endswith("RMSNorm"):
            m.weight.data.uniform_(0.5, 2.0)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    ids = torch.randint(3, 300, (2, 9))
    logits = {}
    for variant in ("eager", "exact"):
        fresh = LlamaForCausalLM(config).eval()
        fresh.load_state_dict(state)
        if variant != "eager":
            assert decode_compile.fuse_norms(fresh) == 5
            assert decode_compile.fuse_norms(fresh) == 0  # nothing named *RMSNorm is left
            assert fresh.state_dict().keys() == state.keys()
        with torch.no_grad():
            logits[variant] = fresh(input_ids=ids).logits
    assert torch.allclose(logits["exact"], logits["eager"], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(logits["eager"], LlamaForCausalLM(config).eval()(input_ids=ids).logits, atol=1e-3)


def test_think_lengths_counts_each_formats_examples_and_answers(tiny_llama, tmp_path):
    """Per format: SFT examples of both sizes and the answers on the four splits; a format's answers are never
    shorter than the schedule they end with, and the dp think, which writes the programme out, is the longer one."""
    out = tmp_path / "lengths.json"
    report = think_lengths.main(["--formats", "recap", "dp", "--n", "6", "--tokenizer", str(tiny_llama),
                                 "--json", str(out)])
    assert json.loads(out.read_text()) == report
    for think in ("recap", "dp"):
        entry = report["formats"][think]
        assert entry["sft_example"].keys() == {"canonical sizes", "hard sizes"}
        assert entry["answer"].keys() == {"test", "hard", "names", "names-hard"}
        for figures in entry["answer"].values():
            assert 0 < figures["median"] <= figures["p95"] <= figures["max"]
    assert report["formats"]["dp"]["answer"]["hard"]["median"] > report["formats"]["recap"]["answer"]["hard"]["median"]
    for think in ("recap", "dp"):  # a full day of held-out names asks for more than a canonical-size one
        answers = report["formats"][think]["answer"]
        assert answers["names-hard"]["median"] > answers["names"]["median"]
